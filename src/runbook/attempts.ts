import {createHash} from 'node:crypto'
import {SshConnectionError} from '../adapters/ssh/index.js'
import {parseDuration} from '../config/duration.js'
import type {NodeSpec} from '../config/schema.js'
import {isPromptInterrupt} from '../core/engine/interrupt.js'
import {withRetry} from '../core/retry.js'
import {RefusedError, UsageError} from '../errors.js'
import {cannotCheck, describeCannotCheck} from '../services/health/cannot-check.js'
import type {ClusterFingerprint} from './cluster.js'
import {describeCondition} from './conditions.js'
import {kindOf} from './kinds/index.js'
import {Aborted} from './kinds/manual.js'
import type {Step} from './schema.js'
import type {LoopEnv} from './step-loop.js'
import type {Attempt, Scope, StepOutcome} from './types.js'

/** Connection failures are retried (a fresh connection each time) whatever the step's retries: say. */
const CONNECTION_RETRIES = 2
const CONNECTION_PAUSE_MS = 300

/** An attempt that ran and did not succeed (non-zero exit, until: not holding): retried per retries:. */
class CommandFailed extends Error {
  constructor(readonly attempt: Attempt) {
    super(attempt.detail)
  }
}

interface Last extends Attempt {
  failure?: 'connection' | 'command'
  refused?: boolean
  input?: boolean
}

/** What a thrown error leaves as the step's last attempt. */
async function lastOf(env: LoopEnv, error: unknown): Promise<Last> {
  if (error instanceof CommandFailed) return {...error.attempt, failure: 'command'}
  const detail = (error as Error).message
  if (error instanceof SshConnectionError) return {ok: false, detail, output: '', failure: 'connection'}
  // Our key, known_hosts or config: no retry helps; name the file and its config line (exit 2).
  const local = error instanceof UsageError ? cannotCheck(error) : undefined
  if (local)
    return {
      ok: false,
      detail: await describeCannotCheck(env.o.loaded, env.o.ctx, local),
      output: '',
      failure: 'command',
      input: true,
    }
  if (error instanceof RefusedError) return {ok: false, detail, output: '', failure: 'command', refused: true}
  return {ok: false, detail, output: '', failure: 'command'}
}

/**
 * Runs STEP on one target: journaled (start, end with output digest and the cluster's fingerprint),
 * retried — connection failures always, command failures per the step's retries:/delay: (until:
 * failing counts as a command failure) — and skipped when an earlier attempt of the run completed it.
 */
export async function runOnTarget(
  env: LoopEnv,
  step: Step,
  scope: Scope,
  key: string,
  node: NodeSpec | undefined,
  fingerprint: Promise<ClusterFingerprint | null>,
): Promise<StepOutcome> {
  const tkey = node ? `${key}@${node.name}` : key
  if (env.done.has(tkey)) {
    const r: StepOutcome = {step: key, kind: step.kind, target: node?.name, status: 'completed-before'}
    env.outcomes.push(r)
    return r
  }
  // The fingerprint is taken while the step starts and recorded with its end: off the critical path.
  await env.append({type: 'step-start', step: key, target: node?.name, data: {kind: step.kind}})
  const started = performance.now()
  const kind = kindOf(step)
  let attempts = 0
  const once = async (): Promise<Attempt> => {
    attempts++
    const r = await kind.execute(env, step, scope, node)
    if (!r.ok) throw new CommandFailed(r)
    if (step.until && (await env.evalOrNull(step.until, env.vars(scope, node))) !== true)
      throw new CommandFailed({
        ...r,
        ok: false,
        detail: r.detail || `until ${describeCondition(step.until)} does not hold`,
      })
    return r
  }
  const connectionRetried = () =>
    withRetry(once, {
      retries: CONNECTION_RETRIES,
      baseMs: CONNECTION_PAUSE_MS,
      maxMs: CONNECTION_PAUSE_MS,
      jitter: false,
      isTransient: (e) => e instanceof SshConnectionError,
      onRetry: (e) =>
        env.o.reporter.warn(env.redactor.text(`${tkey}: connection failure (${(e as Error).message}); retrying`)),
    })
  const delayMs = step.delay === undefined ? 1000 : parseDuration(step.delay, 'delay')
  let last: Last
  try {
    last = await withRetry(connectionRetried, {
      retries: step.retries ?? 0,
      baseMs: delayMs,
      maxMs: delayMs,
      jitter: false,
      isTransient: (e) =>
        !(e instanceof SshConnectionError || e instanceof RefusedError || isPromptInterrupt(e)) &&
        !(e instanceof UsageError && cannotCheck(e)),
      onRetry: (_e, n, ms) => env.o.reporter.debug(`${tkey}: attempt ${n + 1} failed; retrying in ${ms} ms`),
    })
  } catch (error) {
    // Ctrl-C at a prompt, or the operator declining a manual step: the run stops (as aborted) here.
    if (isPromptInterrupt(error) || error instanceof Aborted) throw error
    last = await lastOf(env, error)
  }
  const out = env.redactor.text(last.output)
  const outcome: StepOutcome = {
    step: key,
    kind: step.kind,
    target: node?.name,
    status: last.ok ? 'ok' : 'failed',
    exitCode: last.exitCode,
    failure: last.failure,
    error: last.ok ? undefined : env.redactor.text(last.detail),
    detail: last.ok ? env.redactor.text(last.detail) : undefined,
    attempts,
    durationMs: Math.round(performance.now() - started),
    refused: last.refused,
    input: last.input,
  }
  env.outcomes.push(outcome)
  await env.append({
    type: 'step-end',
    step: key,
    target: node?.name,
    ok: last.ok,
    exitCode: last.exitCode ?? null,
    failure: last.failure,
    error: outcome.error,
    data: {
      fingerprint: await fingerprint,
      status: outcome.status,
      attempts,
      durationMs: outcome.durationMs,
      outputDigest: `sha256:${createHash('sha256').update(out).digest('hex')}`,
      output: out.length > 4096 ? `${out.slice(0, 4096)}…` : out,
      detail: outcome.detail,
    },
  })
  const label = node?.name ?? 'cluster'
  const at = node ? ` @ ${node.name}` : ''
  const tail = last.ok ? (outcome.detail ? `: ${outcome.detail}` : '') : `: ${outcome.error}`
  env.info(`${last.ok ? 'ok' : 'FAILED'}  ${key}${at}${tail} (${outcome.durationMs} ms)`)
  if (out.trim()) for (const line of out.replace(/\n$/, '').split('\n')) env.o.output(`${label} | ${line}`)
  return outcome
}
