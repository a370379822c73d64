import {findNode} from '../../config/context.js'
import type {LoadedConfig} from '../../config/load.js'
import type {Context} from '../../config/schema.js'
import {RefusedError, UsageError} from '../../errors.js'
import {Journal} from '../journal.js'
import type {HeldLock} from '../lock.js'
import {Remote} from '../remote.js'
import type {Reporter} from '../reporter.js'
import {type AddPlan, addHostFindings, addPreflight, executeAdd, nodeSpecForAdd, planAdd} from './add.js'
import {
  clientFor,
  clusterState,
  contextWith,
  contextWithout,
  nodeRunsDir,
  beginNodeRun,
  StepRunner,
  takeClusterLock,
} from './common.js'
import {refusals, refusedPlan, dryRunOutcome} from './preflight.js'
import {
  executeRemoval,
  planRemoval,
  removalChecks,
  removalLeftovers,
  type RemoveOutcome,
  type RemovePlan,
} from './remove.js'

export interface ReplacePlan {
  summary: string
  remove: RemovePlan
  add: AddPlan
}

export interface NodeReplaceResult {
  runId: string | null
  dryRun: boolean
  plan: ReplacePlan
  skipped: string[]
  completed: string[]
  warnings: string[]
  verified?: RemoveOutcome
}

export interface NodeReplaceOptions {
  loaded: LoadedConfig
  ctx: Context
  reporter: Reporter
  old: string
  new: string
  address?: string
  dryRun: boolean
  force: string[]
  timeoutMs: number
  graceMs: number
  probeTimeoutMs?: number
  confirm: (plan: ReplacePlan) => Promise<boolean>
  resume?: string
}

/** Replaces OLD by NEW: the removal, then the add, under one plan, one confirmation, one journal and one lock. */
export async function replaceNode(opts: NodeReplaceOptions): Promise<NodeReplaceResult> {
  const probeMs = opts.probeTimeoutMs ?? 2000
  const old = findNode(opts.ctx, opts.old)
  if (opts.old === opts.new) throw new UsageError('OLD and NEW must be different nodes')
  let journal: Journal | undefined
  if (opts.resume) {
    journal = await Journal.open(nodeRunsDir(), opts.resume)
    const b = journal.begin?.data
    if (b?.op !== 'replace' || b.old !== opts.old || b.new !== opts.new || b.context !== opts.ctx.name)
      throw new UsageError(
        `run ${opts.resume} is not a replacement of ${opts.old} by ${opts.new} in context ${opts.ctx.name}`,
      )
  } else if (old.removed) {
    throw new UsageError(`node ${old.name} is already marked removed in context "${opts.ctx.name}"`)
  }
  const {node: fresh, newInContext} = journal
    ? {node: journal.begin!.data!.spec as ReturnType<typeof nodeSpecForAdd>['node'], newInContext: false}
    : nodeSpecForAdd(opts.ctx, opts.new, opts.address)
  // Calls go to the members that run now: neither the new node's endpoint nor (later) the old one's.
  const current = contextWithout(opts.ctx, fresh)
  const client = clientFor(opts.loaded, current)
  const remote = new Remote(opts.loaded, contextWith(opts.ctx, fresh))
  let lock: HeldLock | undefined
  try {
    let plan: ReplacePlan
    if (journal) {
      plan = journal.begin!.data!.plan as ReplacePlan
      opts.reporter.info(`resuming ${journal.id}: ${plan.summary}`)
    } else {
      // Every check of both halves runs before the first change: cluster, and both hosts over SSH.
      const {view, checks} = await removalChecks({
        client,
        remote,
        loaded: opts.loaded,
        ctx: current,
        node: old,
        probeMs,
        force: opts.force,
        lock: true,
      })
      const remove = planRemoval(current, old, view, checks, false)
      const withFresh = contextWith(current, fresh)
      const addCheck = await addPreflight(client, withFresh, fresh, probeMs, opts.force, true)
      addCheck.checks.push(...(await addHostFindings(remote, withFresh, fresh, addCheck.view)))
      const add = planAdd(
        withFresh,
        fresh,
        newInContext,
        addCheck.view.member,
        remove.impact.votersAfter,
        addCheck.checks.filter((c) => c.id !== 'lock' && c.id !== 'even-voters'),
        remove.impact.othersDown,
      )
      const refused = [...refusals(checks), ...refusals(add.checks)]
      plan = {summary: `replace ${old.name} by ${fresh.name}: ${remove.summary}; then ${add.summary}`, remove, add}
      if (refused.length > 0)
        throw refusedPlan(`refusing to replace ${old.name} by ${fresh.name}, nothing was changed`, refused, plan)
      if (opts.dryRun) return dryRunOutcome(plan, checks)
      if (!(await opts.confirm(plan))) throw new RefusedError('replacement not confirmed; nothing was changed')
    }
    const runId = journal?.id ?? Journal.newId('node-replace')
    lock = await takeClusterLock(client, opts.ctx, runId, `node replace ${old.name} ${fresh.name}`, opts.reporter)
    if (!journal) {
      plan.remove = {
        ...plan.remove,
        asideDir: plan.remove.asideDir.replace('<run-id>', runId),
        steps: plan.remove.steps.map((s) => ({...s, describe: s.describe.replace('<run-id>', runId)})),
      }
      const begin = {op: 'replace', old: old.name, new: fresh.name, context: opts.ctx.name, spec: fresh, plan}
      journal = await beginNodeRun(runId, begin, [...plan.remove.checks, ...plan.add.checks], opts.reporter)
    }
    const runner = new StepRunner<string>(journal, opts.reporter, {lock, state: () => clusterState(client, opts.ctx)})
    const common = {
      loaded: opts.loaded,
      runner,
      remote,
      reporter: opts.reporter,
      timeoutMs: opts.timeoutMs,
      probeMs,
      lock,
    }
    await executeRemoval({...common, ctx: current, node: old, plan: plan.remove, graceMs: opts.graceMs})
    const verified = await executeAdd({...common, ctx: contextWithout(opts.ctx, old), node: fresh, plan: plan.add})
    await journal.append({type: 'end', ok: true})
    return {
      runId,
      dryRun: false,
      plan,
      skipped: runner.skipped,
      completed: runner.completed,
      warnings: removalLeftovers(runner, plan.remove).pending ?? [],
      verified,
    }
  } finally {
    await lock?.release().catch(() => undefined)
    client.close()
    await remote.close()
  }
}
