import {activeNodes, serviceCommand} from '../config/context.js'
import type {Context, NodeSpec} from '../config/schema.js'
import {UsageError} from '../errors.js'
import type {ChainfireHealth} from '../services/health/probes/chainfire.js'
import {nodeVars, resolveTargets} from './cluster.js'
import type {Condition} from './schema.js'
import type {TemplateVars} from './template.js'
import type {ShellOn} from './types.js'

export const NOT_RUN = 'not evaluated: a dry run runs no commands'

/** A dry run does not evaluate a condition that runs a command: runbook commands never run in one. */
export class NotEvaluated extends Error {}

/** What a condition is evaluated against: the live cluster and the nodes (over SSH). */
export interface ConditionEnv {
  ctx: Context
  dryRun: boolean
  health(): Promise<ChainfireHealth>
  exec(node: NodeSpec, command: string, opts: {timeoutMs: number}): Promise<{exitCode: number | null}>
  shellOn: ShellOn
}

/** Evaluates a structured condition (rendered by renderCondition) against the live cluster. */
export async function evalCondition(env: ConditionEnv, c: Condition, v: TemplateVars): Promise<boolean> {
  let h: ChainfireHealth | undefined
  const live = async () => (h ??= await env.health())
  const member = async (name: string) => (await live()).members.find((m) => m.name === name)
  if ('all' in c) {
    for (const x of c.all as Condition[]) if (!(await evalCondition(env, x, v))) return false
    return true
  }
  if ('any' in c) {
    for (const x of c.any as Condition[]) if (await evalCondition(env, x, v)) return true
    return false
  }
  if ('not' in c) return !(await evalCondition(env, c.not as Condition, v))
  if ('healthy' in c) {
    const hh = await live().catch(() => undefined)
    const ok = Boolean(hh?.quorum && hh.members.every((m) => m.healthy || m.learner))
    return ok === c.healthy
  }
  if ('quorum' in c) return Boolean((await live().catch(() => undefined))?.quorum) === c.quorum
  if ('leader-is' in c) return (await live()).leader === c['leader-is']
  if ('leader-is-not' in c) return (await live()).leader !== c['leader-is-not']
  if ('member-present' in c) return Boolean(await member(String(c['member-present'])))
  if ('member-absent' in c) return !(await member(String(c['member-absent'])))
  if ('member-healthy' in c) return Boolean((await member(String(c['member-healthy'])))?.healthy)
  if ('member-learner' in c) return Boolean((await member(String(c['member-learner'])))?.learner)
  if ('caught-up' in c) {
    const m = await member(String(c['caught-up']))
    return Boolean(m?.reachable && m.lag !== null && m.lag <= Number(c['max-lag'] ?? 10))
  }
  if ('service-active' in c || 'service-inactive' in c) {
    const name = String(c['service-active'] ?? c['service-inactive'])
    const node = activeNodes(env.ctx).find((n) => n.name === name)
    if (!node) throw new UsageError(`no node "${name}"`)
    const r = await env.exec(node, serviceCommand(env.ctx, node, String(c.component ?? 'chainfire'), 'is-active'), {
      timeoutMs: 30_000,
    })
    return 'service-active' in c ? r.exitCode === 0 : r.exitCode !== 0
  }
  if ('param' in c) {
    const p = v.params[String(c.param)]
    if (c.equals === undefined) return Boolean(p?.value)
    return String(p?.value) === String(c.equals)
  }
  if ('command' in c) {
    if (env.dryRun) throw new NotEvaluated(`${NOT_RUN}: ${describeCondition(c)}`)
    const nodes = await resolveTargets(env.ctx, [c.on ?? 'all'].flat().map(String), () => live())
    const rs = await Promise.all(
      nodes.map((n) => env.shellOn(n, String(c.command), {...v, node: nodeVars(env.ctx, n)}, false, 60_000)),
    )
    return rs.every((r) => r.exitCode === 0)
  }
  throw new UsageError(`unknown condition ${JSON.stringify(c)}`)
}

export function describeCondition(c: Condition): string {
  if ('all' in c) return `(${(c.all as Condition[]).map(describeCondition).join(' and ')})`
  if ('any' in c) return `(${(c.any as Condition[]).map(describeCondition).join(' or ')})`
  if ('not' in c) return `not ${describeCondition(c.not as Condition)}`
  return Object.entries(c)
    .map(([k, val]) => `${k}${val === true ? '' : `=${typeof val === 'string' ? val : JSON.stringify(val)}`}`)
    .join(' ')
}
