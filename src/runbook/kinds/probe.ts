import {parseDuration} from '../../config/duration.js'
import type {NodeSpec} from '../../config/schema.js'
import {describeCondition, NOT_RUN, NotEvaluated} from '../conditions.js'
import type {CheckStep, WaitStep} from '../schema.js'
import {renderCommand, renderCondition} from '../template.js'
import type {Scope, StepEnv, StepKind} from '../types.js'
import {timeoutOf} from './shell.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A check: a condition (cluster state) or a read-only command on the targets (exit 0 = true). */
export async function checkOnce(
  env: StepEnv,
  step: CheckStep | WaitStep,
  scope: Scope,
  targets: NodeSpec[] | undefined,
): Promise<{ok: boolean; detail: string}> {
  const {command, condition} = step
  if (command !== undefined) {
    if (env.o.dryRun) throw new NotEvaluated(`${NOT_RUN}: ${command}`)
    const nodes = targets ?? []
    const timeoutMs = timeoutOf(step, 600_000)
    const rs = await Promise.all(
      nodes.map(async (n) => ({n, r: await env.shellOn(n, command, env.vars(scope, n), step.sudo, timeoutMs)})),
    )
    const bad = rs.filter((x) => x.r.exitCode !== 0)
    return {
      ok: bad.length === 0,
      detail: bad.length
        ? bad.map((x) => `${x.n.name}: exit ${x.r.exitCode}`).join(', ')
        : `exit 0 on ${nodes.map((n) => n.name).join(', ')}`,
    }
  }
  // The loader lets a check through only with a condition or a command.
  const v = env.vars(scope, targets?.length === 1 ? targets[0] : undefined)
  const c = renderCondition(condition ?? {}, v)
  const ok = await env.evalCondition(c, v)
  return {ok, detail: `${describeCondition(c)}: ${ok ? 'true' : 'false'}`}
}

function describeProbe(step: CheckStep | WaitStep, v: Parameters<typeof renderCommand>[1], at: string): string[] {
  const what =
    step.command === undefined
      ? describeCondition(renderCondition(step.condition ?? {}, v))
      : renderCommand(step.command, v).command
  return [`${at}${step.kind} ${what}`]
}

/** The current value of a check, for the dry-run plan (null: it would run a command). */
async function planProbe(env: StepEnv, step: CheckStep | WaitStep, scope: Scope, targets: NodeSpec[] | undefined) {
  const r = await checkOnce(env, step, scope, targets).catch((e) => ({
    ok: e instanceof NotEvaluated ? null : false,
    detail: (e as Error).message,
  }))
  return {check: {ok: r.ok, detail: env.redactor.text(r.detail)}}
}

/** kind: check — read-only; fails the step when it does not hold. */
export const checkKind: StepKind<CheckStep> = {
  readOnly: true,
  describe: (_env, step, v, node) => describeProbe(step, v, node ? `${node.name}: ` : ''),
  plan: planProbe,
  async execute(env, step, scope, node) {
    const c = await checkOnce(env, step, scope, node ? [node] : undefined)
    return {ok: c.ok, detail: c.detail, output: ''}
  },
}

/** kind: wait — polls until the condition holds or the timeout passes. */
export const waitKind: StepKind<WaitStep> = {
  readOnly: true,
  describe: (_env, step, v, node) => describeProbe(step, v, node ? `${node.name}: ` : ''),
  plan: planProbe,
  async execute(env, step, scope, node) {
    const timeoutMs = timeoutOf(step, 60_000)
    const deadline = Date.now() + timeoutMs
    const interval = step.interval === undefined ? 500 : parseDuration(step.interval, 'interval')
    for (;;) {
      const c = await checkOnce(env, step, scope, node ? [node] : undefined).catch((e) => ({
        ok: false,
        detail: (e as Error).message,
      }))
      if (c.ok) return {ok: true, detail: c.detail, output: ''}
      if (Date.now() > deadline)
        return {
          ok: false,
          detail: `timed out after ${formatMs(timeoutMs)} waiting for ${describeCondition(step.condition)}: ${c.detail}`,
          output: '',
        }
      await sleep(interval)
    }
  },
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`
}
