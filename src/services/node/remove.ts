import {type ChainfireClient, ChainfireCallError, type MembershipRefusal} from '../../adapters/chainfire/index.js'
import {SshConnectionError} from '../../adapters/ssh/index.js'
import {findNode} from '../../config/context.js'
import type {LoadedConfig} from '../../config/load.js'
import type {Context, NodeSpec} from '../../config/schema.js'
import {OperationError, RefusedError, UsageError} from '../../errors.js'
import {moveLeader} from '../chainfire/index.js'
import {checkChainfire, type ChainfireHealth, type MemberHealth} from '../health/probes/chainfire.js'
import {Journal} from '../journal.js'
import type {HeldLock} from '../lock.js'
import {Remote} from '../remote.js'
import {shellQuote} from '../../shell-quote.js'
import type {Reporter} from '../reporter.js'
import {dataDirOf} from '../snapshot/restore.js'
import {
  clientFor,
  clusterState,
  contextWithout,
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
import {hostFindings} from './host-check.js'
import {
  type CheckFinding,
  refusedPlan,
  refusals,
  removalImpact,
  type RemovalImpact,
  runPreflight,
  dryRunOutcome,
} from './preflight.js'
import {compareText} from '../../core/compare.js'

export type RemoveStepName =
  | 'transfer-leadership'
  | 'member-remove'
  | 'stop-service'
  | 'disable-service'
  | 'move-data'
  | 'wipe-data'
  | 'verify'
  | 'mark-removed'

export interface RemoveStep extends StepDef<RemoveStepName> {
  /** Quorum impact once the step is done. */
  impact?: string
}

export interface RemovePlan {
  node: string
  address: string
  roles: string[]
  member: {id: string; leader: boolean; learner: boolean; healthy: boolean} | null
  /** One line: "remove n1 (leader): leadership → n2 first; 2 voters remain, failure tolerance 0". */
  summary: string
  impact: RemovalImpact
  successor: string | null
  checks: CheckFinding[]
  dataDir: string
  /** Where the data directory is moved (RUN is the run id). */
  asideDir: string
  wipeData: boolean
  steps: RemoveStep[]
}

export interface RemoveOutcome {
  leader: string | null
  voters: number
  votersHealthy: number
  failureTolerance: number
  /** Members that were down before the run and still are (the plan expected them down). */
  stillDown?: string[]
}

export interface NodeRemoveResult {
  runId: string | null
  dryRun: boolean
  plan: RemovePlan
  skipped: string[]
  completed: string[]
  warnings: string[]
  verified?: RemoveOutcome
  /** Where the node's data is now: moved aside (kept), deleted, or left in place (node unreachable). */
  data?: {state: 'moved-aside' | 'deleted' | 'left-in-place'; path: string}
  /** Work left for the operator (a node that was unreachable over SSH). */
  pending?: string[]
}

export interface NodeRemoveOptions {
  loaded: LoadedConfig
  ctx: Context
  reporter: Reporter
  node: string
  dryRun: boolean
  /** Check ids whose refusals the operator overrides (--force ID). */
  force: string[]
  wipeData: boolean
  /** Bound of each wait (leader transfer, verification). */
  timeoutMs: number
  /** How long the stop command may take before the service is killed. */
  graceMs: number
  probeTimeoutMs?: number
  confirm: (plan: RemovePlan) => Promise<boolean>
  /** Its own confirmation for deleting the data directory (asked only with --wipe-data). */
  confirmWipe: (plan: RemovePlan) => Promise<boolean>
  resume?: string
}

const RUN_PLACEHOLDER = '<run-id>'

export interface ClusterView {
  cluster: ChainfireHealth
  member: ReturnType<typeof memberOfNode>
  memberHealth: MemberHealth | undefined
}

/**
 * An election in progress is not quorum loss: with no leader yet a majority of voters answering,
 * the plan is made on a second look once etcd has elected (within its election timeout, 1 s by
 * default), for up to this long. A member just killed was often the leader.
 */
const ELECTION_WAIT_MS = 5000

export async function viewOf(
  client: ChainfireClient,
  ctx: Context,
  node: NodeSpec,
  probeMs: number,
): Promise<ClusterView> {
  let {details: cluster} = await checkChainfire(client, ctx, probeMs)
  const deadline = Date.now() + ELECTION_WAIT_MS
  const electing = () =>
    !cluster.leader && cluster.members.filter((m) => m.reachable && !m.learner).length >= cluster.quorumSize
  while (electing() && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 300))
    ;({details: cluster} = await checkChainfire(client, ctx, probeMs))
  }
  let members: Awaited<ReturnType<ChainfireClient['memberList']>>['members'] = []
  try {
    members = (await client.memberList()).members
  } catch {
    // no quorum / nothing reachable: the preflight's no-leader check refuses
  }
  const member = memberOfNode(ctx, node, members)
  return {cluster, member, memberHealth: member ? cluster.members.find((m) => m.id === member.id) : undefined}
}

function successorOf(cluster: ChainfireHealth, memberId: string | undefined): MemberHealth | undefined {
  return cluster.members
    .filter((m) => m.id !== memberId && !m.leader && !m.learner && m.healthy && m.id)
    .sort((a, b) => (b.appliedIndex ?? -1) - (a.appliedIndex ?? -1) || compareText(a.name, b.name))[0]
}

/** Plans the removal of NODE from the cluster as it is now (pure apart from its inputs). */
export function planRemoval(
  ctx: Context,
  node: NodeSpec,
  view: ClusterView,
  checks: CheckFinding[],
  wipeData: boolean,
  runId = RUN_PLACEHOLDER,
): RemovePlan {
  const {cluster, member, memberHealth} = view
  const impact = removalImpact(cluster, member, memberHealth)
  const leader = Boolean(memberHealth?.leader)
  const successor = leader ? successorOf(cluster, member?.id) : undefined
  const dataDir = dataDirOf(ctx, node)
  const asideDir = `${dataDir}.removed-${runId}`
  const ft = (n: number) => `failure tolerance ${n}`
  const role = member
    ? member.isLearner
      ? 'learner'
      : leader
        ? 'leader'
        : memberHealth?.healthy
          ? 'follower'
          : 'down'
    : 'not a member'
  const remain = `${impact.votersAfter} voter${impact.votersAfter === 1 ? '' : 's'} remain (${impact.healthyAfter} healthy, ${impact.quorumAfter} needed), ${ft(impact.failureToleranceAfter)}`
  const steps: RemoveStep[] = []
  if (leader) {
    steps.push({
      step: 'transfer-leadership',
      node: node.name,
      describe: `transfer leadership ${node.name} → ${successor?.name ?? '(no healthy follower)'} (most caught-up follower) and wait for the new leader`,
      impact: `${impact.votersBefore} voters, leader ${successor?.name ?? '?'}, ${ft(impact.failureToleranceBefore)}`,
    })
  }
  const mark: RemoveStep = {
    step: 'mark-removed',
    node: node.name,
    describe: `mark ${node.name} removed in context "${ctx.name}"`,
  }
  if (member) {
    steps.push({
      step: 'member-remove',
      node: node.name,
      describe: `remove ChainFire member ${node.name} (id ${member.id}${member.isLearner ? ', learner' : ''}) through the Cluster API: ${remain}`,
      impact: remain,
    })
    // The context follows the membership at once, so an interrupted run leaves it true.
    steps.push(mark)
  }
  steps.push(
    {
      step: 'stop-service',
      node: node.name,
      describe: `stop chainfire on ${node.name} gracefully (stop command, then kill after the grace period)`,
    },
    {
      step: 'disable-service',
      node: node.name,
      describe: `disable chainfire on ${node.name} so that it never starts again`,
    },
    {step: 'move-data', node: node.name, describe: `move ${node.name}:${dataDir} aside to ${asideDir} (kept)`},
  )
  if (wipeData)
    steps.push({step: 'wipe-data', node: node.name, describe: `DELETE ${node.name}:${asideDir} (--wipe-data)`})
  const down = impact.othersDown.length > 0 ? ` except ${impact.othersDown.join(', ')} (down before the removal)` : ''
  steps.push({
    step: 'verify',
    describe: `verify: a leader, every remaining member healthy${down}, ${impact.votersAfter} voters, ${ft(impact.failureToleranceAfter)}${down ? ' or more' : ''}`,
  })
  if (!member) steps.push(mark)
  const summary = member
    ? `remove ${node.name} (${role})${leader ? `: leadership → ${successor?.name ?? '?'} first;` : ':'} ${remain}`
    : `remove ${node.name} (not a ChainFire member): stop and disable its service, keep its data, mark it removed`
  return {
    node: node.name,
    address: node.address,
    roles: node.roles,
    member: member ? {id: member.id, leader, learner: member.isLearner, healthy: Boolean(memberHealth?.healthy)} : null,
    summary,
    impact,
    successor: successor?.name ?? null,
    checks,
    dataDir,
    asideDir,
    wipeData,
    steps,
  }
}

function refusalError(found: CheckFinding[], node: string, resumed = false, plan?: RemovePlan): RefusedError {
  return refusedPlan(
    `refusing to ${resumed ? 'continue removing' : 'remove'} ${node}, ${resumed ? 'membership unchanged' : 'nothing was changed'}`,
    found,
    plan,
  )
}

/**
 * Every check of a removal that can run before its first change: the cluster checks (quorum, lock,
 * roles) and the host ones (SSH host key and login, sudo, the data dir's move aside) on the node.
 */
export async function removalChecks(c: {
  client: ChainfireClient
  remote: Remote
  loaded: LoadedConfig
  ctx: Context
  node: NodeSpec
  probeMs: number
  force: string[]
  lock: boolean
}): Promise<{view: ClusterView; checks: CheckFinding[]}> {
  const {ctx, node} = c
  const view = await viewOf(c.client, ctx, node, c.probeMs)
  const lock = c.lock ? await readClusterLock(c.client).catch(() => null) : null
  const checks = await runPreflight(
    {
      operation: 'remove',
      ctx,
      node,
      cluster: view.cluster,
      member: view.member,
      memberHealth: view.memberHealth,
      impact: removalImpact(view.cluster, view.member, view.memberHealth),
      lock,
      loaded: c.loaded,
    },
    c.force,
  )
  checks.push(
    ...(await hostFindings(c.remote, ctx, node, {
      dataDir: dataDirOf(ctx, node),
      mayBeUnreachable: Boolean(view.member && !view.memberHealth?.healthy),
    })),
  )
  return {view, checks}
}

/** How long a transient "unhealthy cluster" refusal is retried (etcd's peer health interval is 5 s). */
export const UNHEALTHY_RETRY_MS = 15_000

/** ChainFire's own refusal of a membership change (exit 6), with etcd's reason as a kind. */
export class MembershipRefusedError extends RefusedError {
  constructor(
    what: string,
    error: ChainfireCallError,
    readonly refusal: MembershipRefusal,
  ) {
    super(
      `ChainFire refused to ${what}: ${error.message.replace(/^.*failed: /, '')}`,
      {endpoint: error.details.endpoint, refusal},
      {cause: error},
    )
  }
}

/** Maps the server's own refusal of a membership change to exit 6. */
export function mapMembershipError(error: unknown, what: string): Error {
  const refusal = error instanceof ChainfireCallError ? error.membershipRefusal : undefined
  return refusal ? new MembershipRefusedError(what, error as ChainfireCallError, refusal) : (error as Error)
}

/**
 * A membership change (add/remove). etcd's strict reconfiguration check says "unhealthy cluster"
 * until every peer has been connected for its health interval (5 s), e.g. just after a restart, a
 * restore or a leadership move: that refusal is retried for a bounded time before it is final (exit 6).
 */
export async function membershipChange<T>(what: string, call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + UNHEALTHY_RETRY_MS
  for (;;) {
    try {
      return await call()
    } catch (error) {
      const transient = error instanceof ChainfireCallError && error.membershipRefusal === 'unhealthy-cluster'
      if (!transient || Date.now() > deadline) throw mapMembershipError(error, what)
      await new Promise((r) => setTimeout(r, 1000))
    }
  }
}

/** Everything the removal steps need; built by removeNode and reused by node replace. */
export interface RemoveExec {
  loaded: LoadedConfig
  ctx: Context
  node: NodeSpec
  plan: RemovePlan
  runner: StepRunner<string>
  remote: Remote
  reporter: Reporter
  timeoutMs: number
  graceMs: number
  probeMs: number
  lock: HeldLock
}

function checkLock(lock: HeldLock): void {
  if (lock.lost)
    throw new OperationError(`the cluster lock was lost (${lock.lost}); stopping before the next step`, {
      hint: 'resume the run once the cluster is reachable',
    })
}

/** Executes the removal steps of PLAN (skipping those done earlier in the run). */
export async function executeRemoval(x: RemoveExec): Promise<RemoveOutcome> {
  const {ctx, node, plan, runner, remote, reporter, probeMs} = x
  const client = clientFor(x.loaded, ctx)
  const rest = contextWithout(ctx, node)
  const restClient = clientFor(x.loaded, rest)
  const step = (name: RemoveStepName) => plan.steps.find((s) => s.step === name)
  const markRemoved = () =>
    runner.run(step('mark-removed')!, async () => {
      if (!x.loaded.config.contexts.find((c) => c.name === ctx.name)?.nodes.find((n) => n.name === node.name)?.removed)
        await setNodeRemoved(x.loaded, ctx.name, node.name, true)
    })
  const transferIfLeader = async () => {
    const {cluster, memberHealth} = await viewOf(client, ctx, node, probeMs)
    if (!memberHealth?.leader) return {moved: false, leader: cluster.leader}
    const r = await moveLeader({loaded: x.loaded, ctx, reporter, timeoutMs: probeMs, waitMs: x.timeoutMs})
    return {
      moved: true,
      from: r.from,
      to: r.to,
      termBefore: r.termBefore,
      termAfter: r.termAfter,
      elapsedMs: r.elapsedMs,
    }
  }
  try {
    const t = step('transfer-leadership')
    if (t) await runner.run(t, async () => (checkLock(x.lock), transferIfLeader()))
    const mr = step('member-remove')
    if (mr) {
      await runner.run(mr, async () => {
        checkLock(x.lock)
        const members = (await restClient.memberList()).members
        if (!members.some((m) => m.id === plan.member!.id)) return {alreadyRemoved: true}
        // Leadership may have come back to the node since the transfer step: move it again.
        await transferIfLeader()
        await membershipChange(`remove member ${node.name}`, async () =>
          restClient.memberRemove(plan.member!.id, await leaderEndpoint(restClient, rest, probeMs)),
        )
        return {removed: plan.member!.id}
      })
      await markRemoved()
    }
    await runner.run(step('stop-service')!, async () => {
      checkLock(x.lock)
      return stopGracefully(remote, node, x.graceMs, plan.member ? !plan.member.healthy : false, reporter)
    })
    await runner.run(step('disable-service')!, async () => {
      try {
        await remote.service(node, 'chainfire', 'disable', {timeoutMs: 30_000})
        return {}
      } catch (error) {
        if (plan.member && !plan.member.healthy && isConnectionError(error)) {
          reporter.warn(
            `${node.name} is unreachable over SSH: disable chainfire there before it comes back (${(error as Error).message})`,
          )
          return {unreachable: true}
        }
        throw error
      }
    })
    await runner.run(step('move-data')!, async () => {
      const d = shellQuote(plan.dataDir)
      const a = shellQuote(plan.asideDir)
      try {
        const r = await remote.execChecked(
          node,
          `if [ -e ${d} ]; then mv ${d} ${a} && echo moved; elif [ -e ${a} ]; then echo already; else echo absent; fi`,
          {timeoutMs: 60_000},
        )
        return {result: r.stdout.trim(), aside: plan.asideDir}
      } catch (error) {
        if (plan.member && !plan.member.healthy && isConnectionError(error)) {
          reporter.warn(`${node.name} is unreachable over SSH: its data directory ${plan.dataDir} was left in place`)
          return {unreachable: true}
        }
        throw error
      }
    })
    const w = step('wipe-data')
    if (w)
      await runner.run(
        w,
        async () => (
          await remote.execChecked(node, `rm -rf -- ${shellQuote(plan.asideDir)}`, {timeoutMs: 300_000}),
          {deleted: plan.asideDir}
        ),
      )
    let outcome: RemoveOutcome | undefined
    await runner.run(step('verify')!, async () => {
      const d = await waitForCluster(
        restClient,
        rest,
        probeMs,
        x.timeoutMs,
        'the remaining cluster as the plan predicted',
        (h) => {
          if (h.members.some((m) => m.id === plan.member?.id && !/not a member/.test(m.error ?? '')))
            return `${node.name} is still a member`
          return verifyAsPredicted(h, plan.impact)
        },
      )
      outcome = outcomeOf(d, plan.impact)
      return {...outcome}
    })
    outcome ??= runner.dataOf('verify') as RemoveOutcome | undefined
    if (!plan.member) await markRemoved()
    return outcome!
  } finally {
    client.close()
    restClient.close()
  }
}

/**
 * Null when the cluster is what a plan predicted: a leader, every voter healthy except those that
 * were down before (they may stay down), the predicted voter count, and at least the predicted
 * failure tolerance. Else why not.
 */
export function verifyAsPredicted(
  h: ChainfireHealth,
  p: Pick<RemovalImpact, 'votersAfter' | 'failureToleranceAfter' | 'othersDown'>,
): string | null {
  if (!h.leader) return 'no leader'
  // Rows without a member id are context nodes that are no members (not joined yet, or gone).
  const bad = h.members.filter(
    (m) => m.id && !m.healthy && !/not a member/.test(m.error ?? '') && !p.othersDown.includes(m.name),
  )
  if (bad.length > 0) return `unhealthy: ${bad.map((m) => `${m.name} (${m.error ?? 'down'})`).join(', ')}`
  if (h.voters !== p.votersAfter) return `${h.voters} voters, expected ${p.votersAfter}`
  if (h.failureTolerance < p.failureToleranceAfter)
    return `failure tolerance ${h.failureTolerance}, the plan predicted ${p.failureToleranceAfter}`
  return null
}

/** The verified state; names the members that were down before the run and still are. */
export function outcomeOf(h: ChainfireHealth, p: Pick<RemovalImpact, 'othersDown'>): RemoveOutcome {
  const stillDown = h.members.filter((m) => !m.healthy && p.othersDown.includes(m.name)).map((m) => m.name)
  return {
    leader: h.leader,
    voters: h.voters,
    votersHealthy: h.votersHealthy,
    failureTolerance: h.failureTolerance,
    ...(stillDown.length > 0 ? {stillDown} : {}),
  }
}

/** What the run left behind, from the journal: where the data is, and what an unreachable node still needs. */
export function removalLeftovers(
  runner: StepRunner<string>,
  plan: RemovePlan,
): Pick<NodeRemoveResult, 'data' | 'pending'> {
  const n = plan.node
  const unreachable = (step: string) => Boolean(runner.dataOf(`${step}@${n}`)?.unreachable)
  const pending = [
    ...(unreachable('stop-service') ? [`stop chainfire on ${n}`] : []),
    ...(unreachable('disable-service') ? [`disable chainfire on ${n}`] : []),
    ...(unreachable('move-data') ? [`move ${plan.dataDir} aside on ${n}`] : []),
  ].map((p) => `${p} when it is reachable again (it was unreachable over SSH)`)
  const data = unreachable('move-data')
    ? {state: 'left-in-place' as const, path: plan.dataDir}
    : plan.wipeData
      ? {state: 'deleted' as const, path: plan.asideDir}
      : {state: 'moved-aside' as const, path: plan.asideDir}
  return {data, pending}
}

/** A host that is down or unreachable; a refusal (changed host key) or a failed command is not. */
function isConnectionError(error: unknown): boolean {
  return error instanceof SshConnectionError
}

/**
 * The context's stop command (SIGTERM and its own wait), bounded by the grace period; if the
 * service is still active after it, the kill command. Ends with the service inactive.
 */
async function stopGracefully(
  remote: Remote,
  node: NodeSpec,
  graceMs: number,
  wasDown: boolean,
  reporter: Reporter,
): Promise<Record<string, unknown>> {
  let stopError: string | undefined
  try {
    await remote.service(node, 'chainfire', 'stop', {timeoutMs: graceMs})
  } catch (error) {
    if (wasDown && isConnectionError(error)) {
      reporter.warn(`${node.name} is unreachable over SSH: stop chainfire there before it comes back`)
      return {unreachable: true}
    }
    stopError = (error as Error).message
  }
  const active = await remote.service(node, 'chainfire', 'is-active', {timeoutMs: 30_000})
  if (active.exitCode !== 0) return {stopped: true, killed: false}
  reporter.warn(
    `chainfire on ${node.name} is still active after the stop command${stopError ? ` (${stopError})` : ''}; killing it`,
  )
  await remote.service(node, 'chainfire', 'kill', {timeoutMs: 30_000})
  const again = await remote.service(node, 'chainfire', 'is-active', {timeoutMs: 30_000})
  if (again.exitCode === 0)
    throw new OperationError(`chainfire on ${node.name} is still active after kill`, {host: node.address})
  return {stopped: true, killed: true}
}

/**
 * Graceful node removal: preflight (refuses with exit 6), plan, then journaled, resumable steps
 * under the cluster lock. Nothing changes before the confirmation, and nothing at all with dryRun.
 */
export async function removeNode(opts: NodeRemoveOptions): Promise<NodeRemoveResult> {
  const node = findNode(opts.ctx, opts.node)
  const probeMs = opts.probeTimeoutMs ?? 2000
  let journal: Journal | undefined
  if (opts.resume) {
    journal = await Journal.open(nodeRunsDir(), opts.resume)
    const b = journal.begin?.data
    if (b?.op !== 'remove' || b.node !== node.name || b.context !== opts.ctx.name)
      throw new UsageError(
        `run ${opts.resume} is not a removal of ${node.name} in context ${opts.ctx.name} (it is ${String(b?.op)} of ${String(b?.node)} in ${String(b?.context)})`,
      )
  } else if (node.removed) {
    throw new UsageError(`node ${node.name} is already marked removed in context "${opts.ctx.name}"`)
  }
  const client = clientFor(opts.loaded, opts.ctx)
  const remote = new Remote(opts.loaded, opts.ctx)
  let lock: HeldLock | undefined
  try {
    let plan: RemovePlan
    if (journal) {
      plan = journal.begin!.data!.plan as RemovePlan
      if (journal.ended)
        return {
          runId: journal.id,
          dryRun: false,
          plan,
          skipped: plan.steps.map((s) => `${s.step}${s.node ? `@${s.node}` : ''}`),
          completed: [],
          warnings: [],
          verified: new StepRunner(journal, opts.reporter).dataOf('verify') as unknown as RemoveOutcome,
        }
      opts.reporter.info(`resuming ${journal.id}: ${plan.summary}`)
      // Before the member is removed, the cluster may have changed since the plan (another member
      // down): check quorum again. The lock is checked when taken (this run's own stale lease is waited out).
      if (plan.member && !journal.completed().has(`member-remove@${node.name}`)) {
        const {view, checks} = await removalChecks({
          client,
          remote,
          loaded: opts.loaded,
          ctx: opts.ctx,
          node,
          probeMs,
          force: [...opts.force, ...plan.checks.filter((c) => c.overridden).map((c) => c.id)],
          lock: false,
        })
        const refused = refusals(checks)
        if (view.member && refused.length > 0) throw refusalError(refused, node.name, true, plan)
      }
    } else {
      const {view, checks} = await removalChecks({
        client,
        remote,
        loaded: opts.loaded,
        ctx: opts.ctx,
        node,
        probeMs,
        force: opts.force,
        lock: true,
      })
      plan = planRemoval(opts.ctx, node, view, checks, opts.wipeData)
      const refused = refusals(checks)
      if (refused.length > 0) throw refusalError(refused, node.name, false, plan)
      for (const f of checks.filter((c) => c.overridden))
        opts.reporter.warn(`check "${f.id}" overridden with --force: ${f.message}`)
      if (plan.member?.leader && !plan.successor)
        throw new RefusedError(`${node.name} leads and no healthy follower can take over; nothing was changed`)
      if (opts.dryRun) return dryRunOutcome(plan, checks)
      if (!(await opts.confirm(plan))) throw new RefusedError('removal not confirmed; nothing was changed')
      if (opts.wipeData && !(await opts.confirmWipe(plan)))
        throw new RefusedError(
          'deleting the data directory was not confirmed; nothing was changed (drop --wipe-data to keep it)',
        )
    }
    const runId = journal?.id ?? Journal.newId('node-remove')
    lock = await takeClusterLock(client, opts.ctx, runId, `node remove ${node.name}`, opts.reporter)
    if (!journal) {
      plan = {
        ...plan,
        asideDir: plan.asideDir.replace(RUN_PLACEHOLDER, runId),
        steps: plan.steps.map((s) => ({...s, describe: s.describe.replace(RUN_PLACEHOLDER, runId)})),
      }
      const begin = {op: 'remove', node: node.name, context: opts.ctx.name, plan}
      journal = await beginNodeRun(runId, begin, plan.checks, opts.reporter)
    }
    const runner = new StepRunner<string>(journal, opts.reporter, {lock, state: () => clusterState(client, opts.ctx)})
    const verified = await executeRemoval({
      loaded: opts.loaded,
      ctx: opts.ctx,
      node,
      plan,
      runner,
      remote,
      reporter: opts.reporter,
      timeoutMs: opts.timeoutMs,
      graceMs: opts.graceMs,
      probeMs,
      lock,
    })
    await journal.append({type: 'end', ok: true})
    const down = (verified?.stillDown ?? []).map(
      (n) => `${n} was down before the removal and still is: start it, or remove it too (plasmactl node remove ${n})`,
    )
    return {
      runId,
      dryRun: false,
      plan,
      skipped: runner.skipped,
      completed: runner.completed,
      warnings: [...plan.checks.filter((c) => c.level === 'warn').map((c) => c.message), ...down],
      verified,
      ...removalLeftovers(runner, plan),
    }
  } finally {
    await lock?.release().catch(() => undefined)
    client.close()
    await remote.close()
  }
}
