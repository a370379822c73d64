import {createHash} from 'node:crypto'
import {join} from 'node:path'
import {stateDir} from '../config/paths.js'
import {Journal} from '../core/engine/journal.js'
import {InterruptedError, OperationError, type PlasmaError, RefusedError, refusal, UsageError} from '../errors.js'
import {type ClusterFingerprint, sameCluster} from './cluster.js'
import {describeCondition, NOT_RUN} from './conditions.js'
import {digestSteps, type LoadedRunbook, loadRunbook} from './loader.js'
import type {RawStep} from './schema.js'
import type {LoopEnv} from './step-loop.js'
import type {Redactor} from './template.js'
import type {RunOptions, RunResult, Scope} from './types.js'

/** Where runbook runs keep their journals. */
export const runbookJournalDir = () => join(stateDir(), 'runbooks')

/** Collects the step digests of a runbook and every runbook it includes (resume refuses if any changed). */
export async function fullDigest(rb: LoadedRunbook, seen = new Set<string>()): Promise<string> {
  const parts = [digestSteps(rb.runbook.steps)]
  const walk = (steps: readonly RawStep[]): string[] =>
    steps.flatMap((s) => [
      ...(s.kind === 'runbook' && s.runbook ? [s.runbook] : []),
      ...(typeof s.on_failure === 'object' ? walk(s.on_failure.rescue) : []),
    ])
  for (const inc of walk(rb.runbook.steps)) {
    if (seen.has(inc)) continue
    seen.add(inc)
    parts.push(`${inc}:${await fullDigest(await loadRunbook(inc), seen)}`)
  }
  return createHash('sha256').update(parts.join('\n')).digest('hex')
}

export interface BeginRecord {
  runbook: string
  params: Record<string, string | number | boolean | null>
  context: string
  digest: string
}

/**
 * The journal of the run to resume, checked: it began, it did not finish successfully, it ran on
 * this context. Its params fill those not given again (secrets are never journaled: given again).
 */
export async function openResume(
  o: RunOptions,
  given: Record<string, string>,
): Promise<{journal: Journal; begin: BeginRecord} | undefined> {
  if (!o.resume) return undefined
  const journal = await Journal.open(runbookJournalDir(), o.resume)
  const begin = journal.begin?.data as BeginRecord | undefined
  if (!begin) throw new UsageError(`journal of run ${o.resume} has no begin record`)
  if (journal.ended && (journal.all.at(-1)?.ok ?? false))
    throw new UsageError(`run ${o.resume} already finished successfully; nothing to resume`)
  if (begin.context !== o.ctx.name)
    throw new UsageError(`run ${o.resume} ran against context "${begin.context}", not "${o.ctx.name}"`, {
      hint: `pass --context ${begin.context}`,
    })
  for (const [k, v] of Object.entries(begin.params)) if (v !== null && !(k in given)) given[k] = String(v)
  return {journal, begin}
}

/** A resumed run on a cluster that changed (other id or members) since it was interrupted: asked (or warned with --yes). */
export async function confirmSameCluster(o: RunOptions, resumed: Journal, fp: ClusterFingerprint): Promise<void> {
  const last = [...resumed.all].reverse().find((e) => e.data?.fingerprint)?.data?.fingerprint as
    ClusterFingerprint | undefined
  if (sameCluster(last, fp)) return
  const msg = `the cluster changed since run ${o.resume} was interrupted (was ${last?.clusterId} [${last?.members.join(' ')}], now ${fp.clusterId} [${fp.members.join(' ')}]): resume anyway?`
  if (o.yes) o.reporter.warn(msg.replace(': resume anyway?', '; resuming (--yes)'))
  else if (!(await o.prompts.confirm(msg))) throw new RefusedError('resume not confirmed; nothing was changed')
}

/**
 * The run's preconditions, read-only (evaluated in a dry run too): those that do not hold now. A
 * fresh run refuses on one unless --force precondition; a resumed run was started with them
 * holding, and what holds now may be its own doing (rolling-restart stopped n2): each step checks
 * what it needs itself (quorum, snapshot, when:). Returns the failures and whether they are overridden.
 */
export async function checkPreconditions(
  env: LoopEnv,
  rb: LoadedRunbook,
  scope: Scope,
  resumed: boolean,
): Promise<{failed: string[]; overridden: boolean}> {
  const o = env.o
  const failed: string[] = []
  for (const c of rb.runbook.preconditions ?? []) {
    const ok = await env.evalOrNull(c, env.vars(scope))
    if (ok === false) failed.push(describeCondition(c))
    if (ok === null)
      env.plan.push({
        step: '(precondition)',
        kind: 'check',
        targets: [],
        describe: [describeCondition(c)],
        check: {ok: null, detail: NOT_RUN},
        readOnly: true,
      })
  }
  const overridden = failed.length > 0 && !o.dryRun && !resumed && o.force.includes('precondition')
  if (failed.length > 0 && !o.dryRun && !resumed && !overridden)
    throw refusal(
      'precondition failed',
      failed.map((message) => ({id: 'precondition', message, override: '--force precondition'})),
      {
        plan: {
          summary: `runbook ${scope.runbook}: ${rb.runbook.steps.length} step(s), none run`,
          steps: rb.runbook.steps.map((st) => ({describe: `${st.id} (${st.kind})${st.name ? `: ${st.name}` : ''}`})),
        },
        hint: 'fix the cluster first, or override this check alone with --force precondition',
      },
    )
  if (failed.length > 0 && resumed)
    o.reporter.info(`not re-checked on resume (the run started with them holding): ${failed.join('; ')}`)
  if (o.dryRun)
    for (const p of failed)
      env.plan.push({
        step: '(precondition)',
        kind: 'check',
        targets: [],
        describe: [p],
        check: {ok: false, detail: 'precondition does not hold now'},
        readOnly: true,
      })
  return {failed, overridden}
}

/** A run's failure as the error the command exits with: redacted, naming the run, holding the steps so far. */
export function failureOf(error: unknown, runId: string, redactor: Redactor, result: RunResult): PlasmaError {
  const e = error as PlasmaError
  const msg = redactor.text(e.message)
  const resume = `resume with: plasmactl runs resume ${runId}`
  const wrapped =
    e instanceof InterruptedError
      ? new InterruptedError(msg, {...e.details, runId}, {signal: e.exit === 'TERMINATED' ? 'SIGTERM' : undefined})
      : e instanceof RefusedError
        ? new RefusedError(msg, {...e.details, runId, hint: e.details?.hint ?? resume})
        : e instanceof UsageError
          ? new UsageError(msg, {...e.details, runId, hint: `fix the cause, then: plasmactl runs resume ${runId}`})
          : new OperationError(msg, {
              ...(e.details ?? {}),
              runId,
              hint: `fix the cause, then: plasmactl runs resume ${runId}`,
            })
  wrapped.data = result
  return wrapped
}
