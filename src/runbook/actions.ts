import type {ChainfireClient} from '../adapters/chainfire/index.js'
import {findNode, nodePeerUrl} from '../config/context.js'
import {parseDuration} from '../config/duration.js'
import type {LoadedConfig} from '../config/load.js'
import type {Context, NodeSpec} from '../config/schema.js'
import {OperationError, RefusedError, UsageError} from '../errors.js'
import {moveLeader} from '../services/chainfire/index.js'
import type {ChainfireHealth} from '../services/health/probes/chainfire.js'
import type {Reporter} from '../services/reporter.js'
import {listSnapshots, runSave, verifySnapshot} from '../services/snapshot/index.js'
import {planRecovery, recoverCluster} from '../services/recovery/recover.js'
import {restoreCluster} from '../services/snapshot/restore.js'
import {describeInPlace, planInPlace, replaceInPlace} from '../services/node/replace-in-place.js'
import type {Journal} from '../core/engine/journal.js'
import type {HeldLock} from '../services/lock.js'
import type {ClusterView} from './cluster.js'

export interface ActionContext {
  loaded: LoadedConfig
  ctx: Context
  client: ChainfireClient
  view: ClusterView
  reporter: Reporter
  version: string
  timeoutMs: number
  /** --accept-data-loss: a recovery may restore from a source older than the freshest one. */
  acceptDataLoss?: boolean
  /** The run the action is a step of: a built-in plan (node-replace) journals its steps there, under the step's key. */
  run?: {journal: Journal; lock: HeldLock | undefined; stepKey: string}
}

export interface ActionResult {
  changed: boolean
  detail: string
  /** Lines for the journal and transcript (the step's output). */
  output?: string
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function argNode(a: ActionContext, args: Record<string, unknown>, node: NodeSpec | undefined, key = 'node'): NodeSpec {
  const name = args[key] === undefined ? node?.name : String(args[key])
  if (!name) throw new UsageError(`action needs "with: {${key}: NODE}" or a node target`)
  return findNode(a.ctx, name)
}

function memberOf(h: ChainfireHealth, ctx: Context, n: NodeSpec) {
  const peer = nodePeerUrl(ctx, n)
  return (
    h.members.find((m) => m.name === n.name) ??
    h.members.find((m) => m.endpoint && m.endpoint === n.chainfire?.['client-url']) ??
    (peer ? undefined : undefined)
  )
}

/** node-replace's options: the node (with: node, or the step's target), its env file, the run's bounds. */
function inPlaceOptions(a: ActionContext, args: Record<string, unknown>, node: NodeSpec | undefined, waitMs: number) {
  return {
    loaded: a.loaded,
    ctx: a.ctx,
    reporter: a.reporter,
    node: argNode(a, args, node).name,
    envFile: args.env_file ? String(args.env_file) : undefined,
    force: [],
    timeoutMs: waitMs || 120_000,
    graceMs: args.grace === undefined ? 30_000 : parseDuration(String(args.grace), 'grace'),
  }
}

/** The newest complete snapshot that also verifies (hash and manifest), or undefined. */
export async function newestVerifiedSnapshot(
  a: Pick<ActionContext, 'loaded' | 'ctx'>,
  maxAgeMs?: number,
): Promise<{id: string; createdAt: string} | undefined> {
  const entries = (await listSnapshots({loaded: a.loaded, ctx: a.ctx})).snapshots.filter((e) => e.complete)
  for (const e of entries) {
    if (maxAgeMs !== undefined && Date.now() - Date.parse(e.createdAt) > maxAgeMs) return undefined
    const v = await verifySnapshot({loaded: a.loaded, ctx: a.ctx, idOrFile: e.id}).catch(() => undefined)
    if (v?.ok) return {id: e.id, createdAt: e.createdAt}
  }
  return undefined
}

/** What a dry run can tell beyond describeAction by reading the cluster (read-only). */
export async function planAction(a: ActionContext, action: string, args: Record<string, unknown>): Promise<string[]> {
  if (action === 'node-replace')
    return planInPlace(inPlaceOptions(a, args, undefined, 0)).then(describeInPlace, (error: Error) => [
      `the run would refuse: ${error.message}`,
    ])
  if (action !== 'recover-quorum') return []
  try {
    const d = await planRecovery({
      loaded: a.loaded,
      ctx: a.ctx,
      client: a.client,
      source: args.source ? String(args.source) : undefined,
      acceptDataLoss: a.acceptDataLoss ?? false,
    })
    return d.lines
  } catch (error) {
    return [`the run would refuse: ${(error as Error).message}`]
  }
}

/** What an action would do, for the dry-run plan. */
export function describeAction(action: string, args: Record<string, unknown>, node?: NodeSpec): string {
  const n = args.node ?? node?.name
  switch (action) {
    case 'move-leader':
      return `move ChainFire leadership${args.from ? ` away from ${args.from} (if it leads)` : ''}${args.to ? ` to ${args.to}` : ' to the most caught-up follower'}`
    case 'member-remove':
      return `remove member ${n} from the ChainFire cluster`
    case 'member-add-learner':
      return `add ${n} as a learner (non-voting) member`
    case 'member-promote':
      return `promote learner ${n} to a voting member`
    case 'snapshot-save':
      return 'save a verified ChainFire snapshot'
    case 'snapshot-restore':
      return `restore the whole cluster from ${args.snapshot && args.snapshot !== 'latest' ? args.snapshot : 'the newest verified snapshot'} (every member is stopped)`
    case 'defrag':
      return `defragment the backend of ${n}`
    case 'recover-quorum':
      return `restore every member from ${args.source && args.source !== 'freshest' ? args.source : "the freshest source (live member, stopped member's data dir or verified snapshot: highest revision)"}; every member's data is moved aside`
    case 'node-replace':
      return `replace ${n} in place with the built-in plans: node remove ${n}, then node add ${n} (same name and address, fresh data)`
    case 'wait-healthy':
      return `wait until the cluster has quorum and every member is healthy (timeout ${args.timeout ?? '60s'})`
    default:
      return action
  }
}

export async function runAction(
  a: ActionContext,
  action: string,
  args: Record<string, unknown>,
  node: NodeSpec | undefined,
  waitMs: number,
): Promise<ActionResult> {
  switch (action) {
    case 'move-leader': {
      const h = await a.view.health()
      if (args.from && h.leader !== String(args.from))
        return {changed: false, detail: `leader is ${h.leader ?? 'none'}, not ${args.from}: nothing to move`}
      const r = await moveLeader({
        loaded: a.loaded,
        ctx: a.ctx,
        reporter: a.reporter,
        timeoutMs: a.timeoutMs,
        to: args.to ? String(args.to) : undefined,
        waitMs,
      })
      return {
        changed: r.changed,
        detail: r.changed ? `leadership moved ${r.from} → ${r.to} in ${r.elapsedMs} ms` : r.reason,
      }
    }
    case 'member-remove': {
      const n = argNode(a, args, node)
      const h = await a.view.health()
      const m = memberOf(h, a.ctx, n)
      if (!m?.id) return {changed: false, detail: `${n.name} is not a member: nothing to remove`}
      if (m.leader) throw new RefusedError(`${n.name} is the leader: move leadership away before removing it`)
      await a.client.memberRemove(m.id)
      return {changed: true, detail: `removed member ${n.name} (${m.id})`}
    }
    case 'member-add-learner': {
      const n = argNode(a, args, node)
      const peer = nodePeerUrl(a.ctx, n)
      const list = await a.client.memberList()
      const existing = list.members.find((m) => m.peerURLs.includes(peer))
      if (existing)
        return {
          changed: false,
          detail: `${n.name} (${peer}) is already a member${existing.isLearner ? ' (learner)' : ''}`,
        }
      const r = await a.client.memberAdd([peer], true)
      return {changed: true, detail: `added ${n.name} as learner ${r.member?.id ?? ''}`.trim()}
    }
    case 'member-promote': {
      const n = argNode(a, args, node)
      const peer = nodePeerUrl(a.ctx, n)
      const list = await a.client.memberList()
      const m = list.members.find((x) => x.peerURLs.includes(peer) || x.name === n.name)
      if (!m) throw new OperationError(`${n.name} is not a member: add it as a learner first`)
      if (!m.isLearner) return {changed: false, detail: `${n.name} is already a voting member`}
      await a.client.memberPromote(m.id)
      return {changed: true, detail: `promoted ${n.name} to a voting member`}
    }
    case 'snapshot-save': {
      const r = await runSave({
        loaded: a.loaded,
        ctx: a.ctx,
        reporter: a.reporter,
        version: a.version,
        timeoutMs: a.timeoutMs,
      })
      return {changed: true, detail: `saved snapshot ${r.name} (revision ${r.manifest.revision})`}
    }
    case 'snapshot-restore': {
      let id = args.snapshot ? String(args.snapshot) : 'latest'
      if (id === 'latest') {
        const newest = await newestVerifiedSnapshot(a)
        if (!newest)
          throw new RefusedError('no verified snapshot to restore from', {hint: 'see `plasmactl snapshot list`'})
        id = newest.id
      }
      const force = args.force
        ? String(args.force)
            .split(',')
            .map((f) => f.trim())
        : []
      const r = await restoreCluster({
        loaded: a.loaded,
        ctx: a.ctx,
        reporter: a.reporter,
        idOrFile: id,
        dryRun: false,
        confirm: async () => true,
        waitMs,
        force,
      })
      return {
        changed: true,
        detail: `restored the cluster from ${id} (restore run ${r.runId}, revision ${r.verified?.revision})`,
      }
    }
    case 'recover-quorum': {
      const r = await recoverCluster({
        loaded: a.loaded,
        ctx: a.ctx,
        client: a.client,
        reporter: a.reporter,
        version: a.version,
        source: args.source ? String(args.source) : undefined,
        acceptDataLoss: a.acceptDataLoss ?? false,
        waitMs,
      })
      const c = r.decision.chosen
      return {
        changed: true,
        detail: `restored from ${c.kind === 'snapshot' ? `snapshot ${c.name}` : `${c.name}'s data`} at revision ${c.revision}${r.decision.loses > 0 ? ` (--accept-data-loss: ${r.decision.loses} revisions lost)` : ''}; old data kept at ${r.movedAside.join(', ') || '(none)'}`,
        output: r.lines.join('\n'),
      }
    }
    case 'defrag': {
      const n = argNode(a, args, node)
      const h = await a.view.health()
      const m = memberOf(h, a.ctx, n)
      if (!m?.endpoint) throw new OperationError(`${n.name}: no reachable ChainFire endpoint to defragment`)
      const before = m.dbSize
      await a.client.defragment({name: n.name, url: m.endpoint}, waitMs)
      const after = await a.client.status({name: n.name, url: m.endpoint})
      return {changed: true, detail: `defragmented ${n.name}: ${before ?? '?'} → ${after.dbSize} bytes`}
    }
    case 'wait-healthy': {
      const deadline = Date.now() + waitMs
      for (;;) {
        const h = await a.view.health()
        if (h.quorum && h.members.every((m) => m.healthy || m.learner))
          return {changed: false, detail: `healthy: leader ${h.leader}, ${h.votersHealthy}/${h.voters} voters`}
        if (Date.now() > deadline)
          throw new OperationError(
            `cluster not healthy within ${waitMs} ms: ${h.votersHealthy}/${h.voters} voters healthy`,
          )
        await sleep(250)
      }
    }
    case 'node-replace': {
      const run = a.run
      if (!run?.lock)
        throw new UsageError('action node-replace runs under the cluster lock: its runbook must be mutating')
      const opts = inPlaceOptions(a, args, node, waitMs)
      const r = await replaceInPlace(opts, {journal: run.journal, lock: run.lock, prefix: `${run.stepKey}/`})
      return {
        changed: r.completed.length > 0,
        detail: `${r.plan.summary} (${r.completed.length} step(s) run, ${r.skipped.length} done earlier)`,
        output: describeInPlace(r.plan).join('\n'),
      }
    }
    default:
      throw new UsageError(`unknown action "${action}"`)
  }
}
