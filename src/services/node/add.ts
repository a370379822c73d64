import type {ChainfireClient, Member} from '../../adapters/chainfire/index.js'
import {nodeClientUrl, nodePeerUrl} from '../../config/context.js'
import type {LoadedConfig} from '../../config/load.js'
import type {Context, NodeSpec} from '../../config/schema.js'
import {OperationError, RefusedError, UsageError} from '../../errors.js'
import {majority, failureTolerance} from '../health/quorum.js'
import {Journal} from '../journal.js'
import type {HeldLock} from '../lock.js'
import {Remote} from '../remote.js'
import {shellQuote} from '../../shell-quote.js'
import type {Reporter} from '../reporter.js'
import {dataDirOf} from '../snapshot/restore.js'
import {
  addNodeToConfig,
  clientFor,
  clusterState,
  contextWith,
  leaderEndpoint,
  memberOfNode,
  nodeRunsDir,
  readClusterLock,
  setNodeRemoved,
  type StepDef,
  beginNodeRun,
  StepRunner,
  takeClusterLock,
  waitForCluster,
} from './common.js'
import {type CheckFinding, refusals, refusedPlan, runPreflight, dryRunOutcome} from './preflight.js'
import {hostFindings} from './host-check.js'
import {
  type ClusterView,
  mapMembershipError,
  membershipChange,
  MembershipRefusedError,
  outcomeOf,
  type RemoveOutcome,
  verifyAsPredicted,
  viewOf,
} from './remove.js'

export type AddStepName =
  | 'member-add'
  | 'clear-data'
  | 'write-join-settings'
  | 'start-service'
  | 'wait-caught-up'
  | 'promote'
  | 'verify'
  | 'mark-active'

export interface AddPlan {
  node: string
  address: string
  peerUrl: string
  clientUrl: string
  dataDir: string
  /** Where join settings go: "env-file PATH" or "join-command". */
  joinVia: string
  /** The node is not in the context yet: it is added to it at the end. */
  newInContext: boolean
  existingMember: {id: string; learner: boolean} | null
  votersAfter: number
  failureToleranceAfter: number
  /** Voters that were down before the run: the verification expects them still down (or back). */
  downBefore?: string[]
  summary: string
  checks: CheckFinding[]
  steps: StepDef<AddStepName>[]
}

export interface NodeAddResult {
  runId: string | null
  dryRun: boolean
  plan: AddPlan
  skipped: string[]
  completed: string[]
  warnings: string[]
  verified?: RemoveOutcome
}

export interface NodeAddOptions {
  loaded: LoadedConfig
  ctx: Context
  reporter: Reporter
  node: string
  /** For a node not in the context yet. */
  address?: string
  dryRun: boolean
  force: string[]
  timeoutMs: number
  probeTimeoutMs?: number
  confirm: (plan: AddPlan) => Promise<boolean>
  resume?: string
}

export const DEFAULT_ENV_FILE = '/etc/chainfire/chainfire.env'

/** Raft entries a learner may trail the leader by and still count as caught up. */
const CAUGHT_UP_ENTRIES = 50

/** The node spec to add: from the context, or a new one at ADDRESS (with the lab's per-node layout in a lab context). */
export function nodeSpecForAdd(ctx: Context, name: string, address?: string): {node: NodeSpec; newInContext: boolean} {
  const existing = ctx.nodes.find((n) => n.name === name)
  if (existing) {
    if (address && address !== existing.address)
      throw new UsageError(`node ${name} is in context "${ctx.name}" with address ${existing.address}, not ${address}`)
    return {
      node: {
        ...existing,
        roles: existing.roles.includes('chainfire') ? existing.roles : [...existing.roles, 'chainfire'],
      },
      newInContext: false,
    }
  }
  if (!address)
    throw new UsageError(`no node "${name}" in context "${ctx.name}"`, {
      hint: `pass --address ADDRESS to add a new node${ctx.lab ? ` (in a lab, create it first: plasmactl lab add-node ${name})` : ''}`,
    })
  const node: NodeSpec = {name, address, roles: ['chainfire']}
  if (ctx.lab) {
    const dir = `${ctx.lab.dir}/nodes/${name}`
    const scheme = ctx.chainfire?.tls ? 'https' : 'http'
    node.chainfire = {
      'client-url': `${scheme}://${address}:2379`,
      'peer-url': `http://${address}:2380`,
      'data-dir': `${dir}/data`,
      'env-file': `${dir}/chainfire.env`,
    }
  }
  return {node, newInContext: true}
}

function joinVia(ctx: Context, node: NodeSpec): string {
  return ctx.chainfire?.['join-command']
    ? 'join-command'
    : `env-file ${node.chainfire?.['env-file'] ?? ctx.chainfire?.['env-file'] ?? DEFAULT_ENV_FILE}`
}

export function planAdd(
  ctx: Context,
  node: NodeSpec,
  newInContext: boolean,
  member: Member | undefined,
  votersBefore: number,
  checks: CheckFinding[],
  downBefore: string[] = [],
): AddPlan {
  const votersAfter = votersBefore + (member && !member.isLearner ? 0 : 1)
  const ftAfter = failureTolerance(votersAfter, downBefore.length)
  const via = joinVia(ctx, node)
  const down = downBefore.length > 0 ? ` except ${downBefore.join(', ')} (down before the add)` : ''
  const steps: StepDef<AddStepName>[] = [
    {
      step: 'member-add',
      node: node.name,
      describe: member
        ? `${node.name} is already a learner (id ${member.id}): keep it`
        : `add ChainFire member ${node.name} (${nodePeerUrl(ctx, node)}) as a learner: voters stay ${votersBefore}, quorum unchanged`,
    },
    // The context follows the membership at once, so an interrupted run leaves it true.
    {
      step: 'mark-active',
      node: node.name,
      describe: newInContext
        ? `add ${node.name} to context "${ctx.name}"`
        : `mark ${node.name} active in context "${ctx.name}"`,
    },
    {
      step: 'clear-data',
      node: node.name,
      describe: `move any old data in ${node.name}:${dataDirOf(ctx, node)} aside (a member with old data would not join)`,
    },
    {
      step: 'write-join-settings',
      node: node.name,
      describe: `write the join settings (initial cluster from MemberAdd, state "existing") through the ${via}`,
    },
    {step: 'start-service', node: node.name, describe: `enable and start chainfire on ${node.name}`},
    {
      step: 'wait-caught-up',
      node: node.name,
      describe: `wait until ${node.name} has caught up with the leader (≤ ${CAUGHT_UP_ENTRIES} entries behind)`,
    },
    {
      step: 'promote',
      node: node.name,
      describe: `promote ${node.name} to voter: ${votersAfter} voters, ${majority(votersAfter)} needed, failure tolerance ${ftAfter}`,
    },
    {step: 'verify', node: node.name, describe: `verify: a leader, every member healthy${down}, ${votersAfter} voters`},
  ]
  return {
    node: node.name,
    address: node.address,
    peerUrl: nodePeerUrl(ctx, node),
    clientUrl: nodeClientUrl(ctx, node),
    dataDir: dataDirOf(ctx, node),
    joinVia: via,
    newInContext,
    existingMember: member ? {id: member.id, learner: member.isLearner} : null,
    votersAfter,
    failureToleranceAfter: ftAfter,
    ...(downBefore.length > 0 ? {downBefore} : {}),
    summary: `add ${node.name} (${node.address}) as a learner, then promote it once caught up: ${votersBefore} → ${votersAfter} voters, failure tolerance ${ftAfter}`,
    checks,
    steps,
  }
}

/** Preflight of an add: lock, leader, not already a voter; warns about an even voter count. */
export async function addPreflight(
  client: ChainfireClient,
  ctx: Context,
  node: NodeSpec,
  probeMs: number,
  force: string[],
  lockHeld?: boolean,
) {
  const view = await viewOf(client, ctx, node, probeMs)
  if (view.member && !view.member.isLearner)
    throw new UsageError(`${node.name} is already a ChainFire voter (id ${view.member.id})`)
  const lock = lockHeld ? null : await readClusterLock(client).catch(() => null)
  const impact = {
    votersBefore: view.cluster.voters,
    votersAfter: view.cluster.voters + 1,
    healthyBefore: view.cluster.votersHealthy,
    healthyAfter: view.cluster.votersHealthy + 1,
    quorumAfter: majority(view.cluster.voters + 1),
    failureToleranceBefore: view.cluster.failureTolerance,
    failureToleranceAfter: failureTolerance(view.cluster.voters + 1, view.cluster.voters - view.cluster.votersHealthy),
    othersDown: [],
  }
  const checks = await runPreflight(
    {
      operation: 'add',
      ctx,
      node,
      cluster: view.cluster,
      member: view.member,
      memberHealth: view.memberHealth,
      impact,
      lock,
    },
    force,
  )
  if ((view.cluster.voters + 1) % 2 === 0)
    checks.push({
      id: 'even-voters',
      level: 'warn',
      message: `${view.cluster.voters + 1} voters after the add: an even count tolerates no more failures than ${view.cluster.voters}`,
    })
  return {view, checks}
}

/** Voters other than NODE that are down now. */
export function downVoters(view: ClusterView): string[] {
  return view.cluster.members
    .filter((m) => !m.learner && m.id && !m.healthy && m.id !== view.member?.id && !/not a member/.test(m.error ?? ''))
    .map((m) => m.name)
}

/** The joining node's host preflight: SSH as the steps use it, sudo, its old data moved aside, the join settings written, room for the database. */
export function addHostFindings(
  remote: Remote,
  ctx: Context,
  node: NodeSpec,
  view: ClusterView,
): Promise<CheckFinding[]> {
  const via = joinVia(ctx, node)
  const db = Math.max(0, ...view.cluster.members.map((m) => m.dbSize ?? 0))
  return hostFindings(remote, ctx, node, {
    dataDir: dataDirOf(ctx, node),
    mayBeUnreachable: false,
    writes: via.startsWith('env-file ') ? [via.slice('env-file '.length)] : [],
    joinDbBytes: db,
  })
}

/** ETCD_* settings a joining member needs; the rest of the env file is kept as it is. */
export function mergeEnv(text: string, set: Record<string, string>): string {
  const q = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`
  const lines = text.split('\n').filter((l, i, a) => !(i === a.length - 1 && l === ''))
  const done = new Set<string>()
  const out = lines.map((l) => {
    const k = /^\s*(?:export\s+)?([A-Z_][A-Z0-9_]*)=/.exec(l)?.[1]
    if (k && k in set) {
      done.add(k)
      return `${k}=${q(set[k])}`
    }
    return l
  })
  for (const [k, v] of Object.entries(set)) if (!done.has(k)) out.push(`${k}=${q(v)}`)
  return out.join('\n') + '\n'
}

export interface AddExec {
  loaded: LoadedConfig
  ctx: Context
  node: NodeSpec
  plan: AddPlan
  runner: StepRunner<string>
  remote: Remote
  reporter: Reporter
  timeoutMs: number
  probeMs: number
  lock: HeldLock
}

/** Executes the add steps (skipping those done earlier in the run). */
export async function executeAdd(x: AddExec): Promise<RemoveOutcome> {
  const {node, plan, runner, remote, reporter, probeMs} = x
  const ctx = contextWith(x.ctx, node)
  // Calls go to the members that already run; the new one is probed at its own URL.
  const others = {...ctx, nodes: ctx.nodes.map((n) => (n.name === node.name ? {...n, removed: true} : n))}
  const client = clientFor(x.loaded, others)
  const step = (name: AddStepName) => plan.steps.find((s) => s.step === name)!
  const lost = () => {
    if (x.lock.lost)
      throw new OperationError(`the cluster lock was lost (${x.lock.lost}); stopping before the next step`)
  }
  try {
    await runner.run(step('member-add'), async () => {
      lost()
      const members = (await client.memberList()).members
      const have = memberOfNode(ctx, node, members)
      if (have) return {memberId: have.id, initialCluster: initialCluster(members, have.id, node.name)}
      const r = await membershipChange(`add member ${node.name}`, async () =>
        client.memberAdd([plan.peerUrl], true, await leaderEndpoint(client, others, probeMs)),
      )
      return {memberId: r.member.id, initialCluster: initialCluster(r.members, r.member.id, node.name)}
    })
    const added = runner.dataOf(`member-add@${node.name}`) as {memberId: string; initialCluster: string}
    await runner.run(step('mark-active'), async () => {
      const cur = x.loaded.config.contexts.find((c) => c.name === x.ctx.name)?.nodes.find((n) => n.name === node.name)
      if (!cur) await addNodeToConfig(x.loaded, x.ctx.name, node)
      // Clears `removed` and puts the node back into an explicit endpoint list.
      await setNodeRemoved(x.loaded, x.ctx.name, node.name, false)
    })
    await runner.run(step('clear-data'), async () => {
      const d = shellQuote(plan.dataDir)
      const aside = shellQuote(`${plan.dataDir}.before-join-${runner.journal.id}`)
      const r = await remote.execChecked(
        node,
        `if [ -d ${d} ] && [ -n "$(ls -A ${d} 2>/dev/null)" ]; then mv ${d} ${aside} && echo moved; else echo empty; fi`,
        {timeoutMs: 60_000},
      )
      return {result: r.stdout.trim()}
    })
    await runner.run(step('write-join-settings'), async () => {
      const vars = {
        name: node.name,
        'initial-cluster': added.initialCluster,
        'initial-cluster-state': 'existing',
        'peer-url': plan.peerUrl,
        'client-url': plan.clientUrl,
        'data-dir': plan.dataDir,
      }
      const tpl = ctx.chainfire?.['join-command']
      if (tpl) {
        const cmd = tpl.replace(/\{([a-z-]+)\}/g, (m, k: string) =>
          k in vars ? shellQuote(vars[k as keyof typeof vars]) : m,
        )
        await remote.execChecked(node, cmd, {timeoutMs: 60_000})
        return {via: 'join-command'}
      }
      const file = plan.joinVia.replace(/^env-file /, '')
      const cur = await remote.exec(node, `cat ${shellQuote(file)} 2>/dev/null`, {timeoutMs: 30_000})
      const text = mergeEnv(cur.exitCode === 0 ? cur.stdout : '', {
        ETCD_NAME: node.name,
        ETCD_DATA_DIR: plan.dataDir,
        ETCD_INITIAL_ADVERTISE_PEER_URLS: plan.peerUrl,
        ETCD_INITIAL_CLUSTER: added.initialCluster,
        ETCD_INITIAL_CLUSTER_STATE: 'existing',
      })
      const f = shellQuote(file)
      await remote.execChecked(
        node,
        `mkdir -p "$(dirname ${f})" && cat > ${f}.plasmactl-tmp && mv -f ${f}.plasmactl-tmp ${f}`,
        {timeoutMs: 30_000, stdin: text},
      )
      return {via: `env-file ${file}`}
    })
    await runner.run(step('start-service'), async () => {
      lost()
      await remote.service(node, 'chainfire', 'enable', {timeoutMs: 30_000})
      await remote.service(node, 'chainfire', 'start', {timeoutMs: 60_000})
    })
    const all = clientFor(x.loaded, ctx)
    let outcome: RemoveOutcome | undefined
    try {
      await runner.run(step('wait-caught-up'), async () => {
        const d = await waitForCluster(all, ctx, probeMs, x.timeoutMs, `${node.name} caught up`, (h) => {
          const me = h.members.find((m) => m.id === added.memberId)
          if (!h.leader) return 'no leader'
          if (!me?.reachable) return `${node.name} does not answer (${me?.error ?? 'not in the member list'})`
          if (me.lag === null || me.lag > CAUGHT_UP_ENTRIES)
            return `${node.name} is ${me.lag ?? '?'} entries behind the leader`
          return null
        })
        return {lag: d.members.find((m) => m.id === added.memberId)?.lag ?? null}
      })
      await runner.run(step('promote'), async () => {
        lost()
        const deadline = Date.now() + x.timeoutMs
        for (;;) {
          const m = (await client.memberList()).members.find((y) => y.id === added.memberId)
          if (!m) throw new OperationError(`member ${node.name} (${added.memberId}) is gone from the cluster`)
          if (!m.isLearner) return {promoted: added.memberId}
          try {
            await client.memberPromote(added.memberId, await leaderEndpoint(client, others, probeMs))
            return {promoted: added.memberId}
          } catch (error) {
            const e = mapMembershipError(error, `promote ${node.name}`)
            // "not in sync with leader" is transient: the learner is still catching up.
            if (!(e instanceof MembershipRefusedError) || e.refusal !== 'learner-not-ready' || Date.now() > deadline)
              throw e
            await new Promise((r) => setTimeout(r, 300))
          }
        }
      })
      await runner.run(step('verify'), async () => {
        const d = await waitForCluster(all, ctx, probeMs, x.timeoutMs, `${node.name} a healthy voter`, (h) => {
          if (!h.leader) return 'no leader'
          const me = h.members.find((m) => m.id === added.memberId)
          if (!me) return `${node.name} is not in the member list`
          if (me.learner) return `${node.name} is still a learner`
          return verifyAsPredicted(h, {
            votersAfter: plan.votersAfter,
            failureToleranceAfter: plan.failureToleranceAfter,
            othersDown: plan.downBefore ?? [],
          })
        })
        outcome = outcomeOf(d, {othersDown: plan.downBefore ?? []})
        return {...outcome}
      })
    } finally {
      all.close()
    }
    outcome ??= runner.dataOf(`verify@${node.name}`) as RemoveOutcome | undefined
    reporter.debug(`added ${node.name}`)
    return outcome!
  } finally {
    client.close()
  }
}

/** ETCD_INITIAL_CLUSTER for the joining member: every member's name=peerURL, the new one under its own name. */
function initialCluster(members: Member[], newId: string, newName: string): string {
  return members
    .flatMap((m) => m.peerURLs.map((u) => `${m.id === newId ? newName : m.name}=${u}`))
    .filter((e) => !e.startsWith('='))
    .join(',')
}

/** Adds a ChainFire member the safe way: learner first, start with join settings, catch up, promote. */
export async function addNode(opts: NodeAddOptions): Promise<NodeAddResult> {
  const probeMs = opts.probeTimeoutMs ?? 2000
  let journal: Journal | undefined
  if (opts.resume) {
    journal = await Journal.open(nodeRunsDir(), opts.resume)
    const b = journal.begin?.data
    if (b?.op !== 'add' || b.node !== opts.node || b.context !== opts.ctx.name)
      throw new UsageError(`run ${opts.resume} is not an add of ${opts.node} in context ${opts.ctx.name}`)
  }
  const {node, newInContext} = journal
    ? {
        node: journal.begin!.data!.spec as NodeSpec,
        newInContext: Boolean((journal.begin!.data!.plan as AddPlan).newInContext),
      }
    : nodeSpecForAdd(opts.ctx, opts.node, opts.address)
  const others = {...opts.ctx, nodes: opts.ctx.nodes.map((n) => (n.name === node.name ? {...n, removed: true} : n))}
  const client = clientFor(opts.loaded, others)
  const ctx = contextWith(opts.ctx, node)
  const remote = new Remote(opts.loaded, ctx)
  let lock: HeldLock | undefined
  try {
    let plan: AddPlan
    if (journal) {
      plan = journal.begin!.data!.plan as AddPlan
      if (journal.ended)
        return {
          runId: journal.id,
          dryRun: false,
          plan,
          skipped: plan.steps.map((s) => `${s.step}@${s.node}`),
          completed: [],
          warnings: [],
        }
    } else {
      const {view, checks} = await addPreflight(client, ctx, node, probeMs, opts.force)
      checks.push(...(await addHostFindings(remote, ctx, node, view)))
      plan = planAdd(ctx, node, newInContext, view.member, view.cluster.voters, checks, downVoters(view))
      const refused = refusals(checks)
      if (refused.length > 0) throw refusedPlan(`refusing to add ${node.name}, nothing was changed`, refused, plan)
      if (opts.dryRun) return dryRunOutcome(plan, checks)
      if (!(await opts.confirm(plan))) throw new RefusedError('add not confirmed; nothing was changed')
    }
    const runId = journal?.id ?? Journal.newId('node-add')
    lock = await takeClusterLock(client, opts.ctx, runId, `node add ${node.name}`, opts.reporter)
    if (!journal) {
      const begin = {op: 'add', node: node.name, context: opts.ctx.name, spec: node, plan}
      journal = await beginNodeRun(runId, begin, plan.checks, opts.reporter)
    }
    const runner = new StepRunner<string>(journal, opts.reporter, {lock, state: () => clusterState(client, opts.ctx)})
    const verified = await executeAdd({
      loaded: opts.loaded,
      ctx: opts.ctx,
      node,
      plan,
      runner,
      remote,
      reporter: opts.reporter,
      timeoutMs: opts.timeoutMs,
      probeMs,
      lock,
    })
    await journal.append({type: 'end', ok: true})
    return {
      runId,
      dryRun: false,
      plan,
      skipped: runner.skipped,
      completed: runner.completed,
      warnings: plan.checks.filter((c) => c.level === 'warn').map((c) => c.message),
      verified,
    }
  } finally {
    await lock?.release().catch(() => undefined)
    client.close()
    await remote.close()
  }
}
