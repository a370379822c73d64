import type {NodeSpec} from '../config/schema.js'
import {parseDuration} from '../config/duration.js'
import type {ChainfireHealth} from '../services/health/probes/chainfire.js'
import {newestVerifiedSnapshot} from './actions.js'
import {quorumImpact} from './cluster.js'
import {kindOf} from './kinds/index.js'
import type {Step} from './schema.js'
import {type LoopEnv, MAX_SNAPSHOT_AGE, quorumVerb, runInclude} from './step-loop.js'
import {renderText} from './template.js'
import type {PlanEntry, Scope} from './types.js'

export interface StepTargets {
  targets: NodeSpec[] | undefined
  groups: (NodeSpec | undefined)[][]
  health: ChainfireHealth | undefined
  /** A when: a dry run could not evaluate (it would run a command). */
  unevaluated?: string
}

/**
 * A step in a dry run: what it would do on each target (commands rendered, secrets redacted), the
 * quorum impact of each batch, the batches, the snapshot a destructive step would rely on, and
 * what read-only checks say now. Nothing is changed; an include is planned step by step.
 */
export async function planStep(env: LoopEnv, step: Step, scope: Scope, t: StepTargets): Promise<void> {
  const v = env.vars(scope)
  const impact: string[] = []
  const verb = quorumVerb(step)
  for (const g of t.groups) {
    const names = g.flatMap((n) => (n ? [n.name] : []))
    const health = verb ? (t.health ?? (await env.view.health().catch(() => undefined))) : undefined
    const removed = step.kind === 'action' && step.with?.node ? [renderText(String(step.with.node), v)] : names
    const imp = verb && health ? quorumImpact(health, verb, verb === 'remove' ? removed : names) : undefined
    if (imp) impact.push(imp.text)
  }
  const kind = kindOf(step)
  const entry: PlanEntry = {
    step: scope.prefix + step.id,
    kind: step.kind,
    name: step.name,
    targets: (t.targets ?? []).map((n) => n.name),
    describe: [],
    impact: impact.length ? impact : undefined,
    readOnly: kind.readOnly ?? false,
  }
  if (t.unevaluated) entry.describe.push(t.unevaluated)
  if (typeof step.confirm === 'string') entry.describe.push(`confirm: ${renderText(step.confirm, v)}`)
  if (step.serial !== undefined && t.targets)
    entry.describe.push(
      `in batches: ${t.groups.map((g) => g.flatMap((n) => (n ? [n.name] : [])).join('+')).join(' → ')}`,
    )
  if (step.destructive) {
    const snap = await newestVerifiedSnapshot(env.o, parseDuration(MAX_SNAPSHOT_AGE, 'max-snapshot-age')).catch(
      () => undefined,
    )
    entry.describe.push(
      snap
        ? `destructive: newest verified snapshot ${snap.id} (${snap.createdAt})`
        : `destructive: NO verified snapshot newer than ${MAX_SNAPSHOT_AGE}: the run will refuse without --force`,
    )
  }
  if (step.kind === 'runbook') {
    env.plan.push(entry)
    entry.describe.push(...kind.describe(env, step, v))
    for (const n of t.targets ?? [undefined]) await runInclude(env, step, scope, n)
    return
  }
  for (const n of t.targets ?? [undefined]) entry.describe.push(...kind.describe(env, step, env.vars(scope, n), n))
  const extra = await kind.plan?.(env, step, scope, t.targets)
  if (extra?.lines) entry.describe.push(...extra.lines)
  if (extra?.check) entry.check = extra.check
  env.plan.push(entry)
}
