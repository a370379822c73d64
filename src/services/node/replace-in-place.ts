import {findNode} from '../../config/context.js'
import type {LoadedConfig} from '../../config/load.js'
import type {Context, NodeSpec} from '../../config/schema.js'
import type {Journal} from '../../core/engine/journal.js'
import {StepRunner} from '../../core/engine/steps.js'
import {OperationError, RefusedError} from '../../errors.js'
import type {HeldLock} from '../lock.js'
import {Remote} from '../remote.js'
import type {Reporter} from '../reporter.js'
import {type AddPlan, executeAdd, planAdd} from './add.js'
import {clientFor, contextWithout} from './common.js'
import {refusals, refusedPlan} from './preflight.js'
import {executeRemoval, planRemoval, removalChecks, type RemovePlan} from './remove.js'

/**
 * In-place replacement of a failed member (same name and address, fresh disk): the built-in
 * removal plan, then the built-in add plan of the same node — what `node remove N` then `node add N`
 * do, step for step. Runs as one step of a runbook (chainfire/replace-node, action node-replace), on
 * the runbook's journal and lock: its steps are journaled under the runbook step's key and skipped
 * on resume like any step of a built-in plan.
 */
export interface InPlaceOptions {
  loaded: LoadedConfig
  ctx: Context
  reporter: Reporter
  node: string
  /** The member's ETCD_* environment file, when not the context's. */
  envFile?: string
  force: string[]
  timeoutMs: number
  graceMs: number
  probeMs?: number
}

export interface InPlacePlan {
  summary: string
  remove: RemovePlan
  add: AddPlan
}

function nodeOf(opts: InPlaceOptions): NodeSpec {
  const n = findNode(opts.ctx, opts.node)
  return opts.envFile ? {...n, chainfire: {...n.chainfire, 'env-file': opts.envFile}} : n
}

/** The plan (read-only: the cluster and the host are read over the API and SSH); refuses like `node replace`. */
export async function planInPlace(opts: InPlaceOptions, runId?: string): Promise<InPlacePlan> {
  const node = nodeOf(opts)
  // Calls go to the members that run now, not to the failed one's endpoint.
  const client = clientFor(opts.loaded, contextWithout(opts.ctx, node))
  const remote = new Remote(opts.loaded, opts.ctx)
  try {
    const {view, checks} = await removalChecks({
      client,
      remote,
      loaded: opts.loaded,
      ctx: opts.ctx,
      node,
      probeMs: opts.probeMs ?? 2000,
      force: opts.force,
      lock: false,
    })
    const remove = planRemoval(opts.ctx, node, view, checks, false, runId)
    // Planned as after the removal: the member is gone, the node joins again as a learner.
    const add = planAdd(opts.ctx, node, false, undefined, remove.impact.votersAfter, [], remove.impact.othersDown)
    const plan = {summary: `replace ${node.name} in place: ${remove.summary}; then ${add.summary}`, remove, add}
    const refused = refusals(checks)
    if (refused.length > 0) throw refusedPlan(`refusing to replace ${node.name}, nothing was changed`, refused, plan)
    if (remove.member?.leader && !remove.successor)
      throw new RefusedError(`${node.name} leads and no healthy follower can take over; nothing was changed`)
    return plan
  } finally {
    client.close()
    await remote.close()
  }
}

/** The plan's lines for a dry run: every step of both halves, with the quorum impact of the removal. */
export function describeInPlace(plan: InPlacePlan): string[] {
  return [
    plan.summary,
    ...plan.remove.steps.map((s) => `${s.describe}${s.impact ? ` [${s.impact}]` : ''}`),
    ...plan.add.steps.map((s) => s.describe),
  ]
}

/** Runs the replacement as part of run RUN (its journal, lock and runId), steps under PREFIX. */
export async function replaceInPlace(
  opts: InPlaceOptions,
  run: {journal: Journal; lock: HeldLock; prefix: string},
): Promise<{plan: InPlacePlan; completed: string[]; skipped: string[]}> {
  const node = nodeOf(opts)
  const runner = new StepRunner<string>(run.journal, opts.reporter, {prefix: run.prefix})
  // Planned once and journaled: a resume runs the same steps, whatever the cluster looks like by then.
  await runner.run(
    {step: 'plan', node: node.name, describe: `plan the in-place replacement of ${node.name}`},
    async () => {
      const plan = await planInPlace(opts, run.journal.id)
      return {plan}
    },
  )
  const plan = runner.dataOf(`plan@${node.name}`)?.plan as InPlacePlan | undefined
  if (!plan) throw new OperationError(`run ${run.journal.id} has no journaled plan for ${node.name}`)
  const remote = new Remote(opts.loaded, opts.ctx)
  try {
    const common = {
      loaded: opts.loaded,
      runner,
      remote,
      reporter: opts.reporter,
      timeoutMs: opts.timeoutMs,
      probeMs: opts.probeMs ?? 2000,
      lock: run.lock,
      node,
    }
    await executeRemoval({...common, ctx: opts.ctx, plan: plan.remove, graceMs: opts.graceMs})
    await executeAdd({...common, ctx: contextWithout(opts.ctx, node), plan: plan.add})
    return {plan, completed: runner.completed, skipped: runner.skipped}
  } finally {
    await remote.close()
  }
}
