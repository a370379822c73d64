import {join} from 'node:path'
import {chainfireClientFor} from '../../adapters/chainfire/index.js'
import {activeNodes} from '../../config/context.js'
import type {LoadedConfig} from '../../config/load.js'
import {stateDir} from '../../config/paths.js'
import type {Context, NodeSpec} from '../../config/schema.js'
import {OperationError, RefusedError, UsageError} from '../../errors.js'
import {runRunbook} from '../../runbook/executor.js'
import {HealthChecker} from '../health/index.js'
import {majority} from '../health/quorum.js'
import {Remote} from '../remote.js'
import type {Reporter} from '../reporter.js'
import {acked, checkHistory, latencyWindow, longestAckGap, memberWindows, secs} from './analyze.js'
import {beginDrillRun} from './begin.js'
import {drillSpec, type DrillSpec} from './catalog.js'
import {runComponentDrill} from './components.js'
import {type AppliedFault, FaultInjector} from './faults.js'
import {ClusterMonitor} from './monitor.js'
import {RootShell} from './partition.js'
import {runRestoreRehearsal} from './rehearsal.js'
import {configuredObjectives, drillObjectives, endDrillRun} from './slo.js'
import {writeDrillReport} from './report.js'
import type {DrillMeasures, DrillResult, SloResult} from './types.js'
import {Workload} from './workload.js'

export interface DrillRunOptions {
  loaded: LoadedConfig
  ctx: Context
  reporter: Reporter
  name: string
  /** The member a named drill hits (member-kill). */
  node?: string
  baselineSeconds: number
  holdSeconds: number
  afterSeconds: number
  clients: number
  /**
   * Workload operations per second, all clients together (each iteration is two: a sequenced write
   * and a register operation). A drill proves correctness under faults, not capacity: a paced
   * workload, as etcd's robustness tests and Jepsen run theirs, leaves the cluster's capacity to
   * its applications. Default DEFAULT_RATE.
   */
  rate?: number
  recover: boolean
  /** --allow-production and the context name typed: a production context may be drilled. */
  productionConfirmed: boolean
  /** Where the report goes (default $STATE/drills/RUN_ID). */
  reportDir?: string
  /** quorum-loss: where the recovery restores from (freshest, a node, a snapshot id, latest). */
  source?: string
  /** quorum-loss: let the recovery restore from an older source than the freshest. */
  acceptDataLoss?: boolean
  /** Quorum-loss drills run without a verified snapshot younger than an hour. */
  noSnapshot?: boolean
  /** Longest wait for the failure tolerance to come back. */
  rtoTimeoutSeconds?: number
  /** restore-rehearsal: members of the throwaway cluster (default 1). */
  members?: number
}

/** Workload operations per second (all clients) unless --rate says otherwise. */
export const DEFAULT_RATE = 50
/** Workload clients unless --clients says otherwise. */
export const DEFAULT_CLIENTS = 8

/** The ms between a client's iterations (two operations each) so that CLIENTS together make RATE ops/s. */
export function workloadInterval(clients: number, rate: number): number {
  return (clients * 2 * 1000) / rate
}

function drillsDir(): string {
  return join(stateDir(), 'drills')
}

function nodeNamed(ctx: Context, name: string): NodeSpec {
  const n = activeNodes(ctx).find((x) => x.name === name)
  if (!n)
    throw new UsageError(
      `no node "${name}" in context ${ctx.name} (nodes: ${activeNodes(ctx)
        .map((x) => x.name)
        .join(', ')})`,
    )
  return n
}

/** The member the drill hits, chosen live (the leader moves). */
function pickTarget(spec: DrillSpec, ctx: Context, leader: string | null, named?: string): NodeSpec {
  if (spec.target === 'named' || named) {
    if (!named) throw new UsageError(`drill ${spec.name} needs --node NAME`)
    return nodeNamed(ctx, named)
  }
  if (!leader) throw new OperationError('no leader: the cluster must have one before a drill')
  if (spec.target === 'leader') return nodeNamed(ctx, leader)
  const follower = activeNodes(ctx).find((n) => n.roles.includes('chainfire') && n.name !== leader)
  if (!follower) throw new OperationError('no follower to hit')
  return follower
}

/** A majority of the voters, the leader first: what a quorum-loss drill kills. */
function majorityWithLeaderFirst(ctx: Context, leader: string | null): NodeSpec[] {
  const voters = activeNodes(ctx).filter((n) => n.roles.includes('chainfire'))
  const ordered = [...voters.filter((n) => n.name === leader), ...voters.filter((n) => n.name !== leader)]
  return ordered.slice(0, majority(voters.length))
}

/** Refuses a drill that may need a restore unless a verified snapshot younger than an hour exists. */
async function requireFreshSnapshot(o: DrillRunOptions): Promise<void> {
  const {listSnapshots} = await import('../snapshot/catalog.js')
  const listing = await listSnapshots({loaded: o.loaded, ctx: o.ctx, verify: true})
  const fresh = listing.snapshots.find((e) => e.complete && Date.now() - Date.parse(e.createdAt) < 3_600_000)
  if (!fresh) {
    throw new RefusedError(
      `preflight: drill ${o.name} needs a verified snapshot younger than an hour (newest: ${listing.snapshots[0]?.createdAt ?? 'none'})`,
      {hint: 'plasmactl snapshot save, or pass --no-snapshot'},
    )
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Runs one of the product's runbooks as a drill's recovery (no prompts); "ok" or why it did not succeed. */
export async function runRecoveryRunbook(
  o: {loaded: LoadedConfig; ctx: Context; reporter: Reporter; acceptDataLoss?: boolean},
  name: string,
  params: Record<string, string>,
): Promise<string> {
  const rb = await runRunbook({
    loaded: o.loaded,
    ctx: o.ctx,
    reporter: o.reporter,
    output: (l) => o.reporter.debug(l),
    name,
    params,
    acceptDataLoss: o.acceptDataLoss,
    dryRun: false,
    yes: true,
    stepMode: false,
    interactive: false,
    force: [],
    allowManual: false,
    lockTtlSeconds: 15,
    version: 'drill',
    prompts: {
      step: () => Promise.reject(new Error('no prompts in a drill')),
      confirm: () => Promise.resolve(false),
    },
  })
  return rb.status === 'succeeded'
    ? 'ok'
    : `runbook ${rb.status}: ${rb.steps.find((x) => x.status === 'failed')?.error ?? ''}`.trim()
}

/**
 * Runs one drill: preflight, lock, journal, workload and monitor, fault (with a dead-man timer on
 * the node), recovery by the product's own runbook, checks of the recorded history, measures, SLO
 * verdict and a report directory. Ctrl-C reverts the fault before the process ends.
 */
export async function runDrill(o: DrillRunOptions): Promise<DrillResult> {
  const spec = drillSpec(o.name)
  if (o.ctx.environment === 'production' && !o.productionConfirmed) {
    throw new RefusedError(`context ${o.ctx.name} is a production context: drills inject real faults`, {
      hint: 'pass --allow-production and type the context name when asked',
    })
  }
  if (o.members !== undefined && spec.fault !== 'restore')
    throw new UsageError(`--members is for restore-rehearsal, not drill ${spec.name}`)
  if (spec.fault === 'netem') return skipped(o, spec, 'netem not available')
  const objectives = drillObjectives(o.ctx)
  if (spec.component)
    return runComponentDrill(spec, {
      loaded: o.loaded,
      ctx: o.ctx,
      reporter: o.reporter,
      journalDir: drillsDir(),
      reportDir: o.reportDir,
      node: o.node,
      baselineSeconds: o.baselineSeconds,
      holdSeconds: o.holdSeconds,
      recover: o.recover,
      rtoTimeoutSeconds: o.rtoTimeoutSeconds ?? 120,
      objectives,
      runbook: (name, params) => runRecoveryRunbook(o, name, params),
    })
  if (spec.fault === 'restore')
    return runRestoreRehearsal({
      loaded: o.loaded,
      ctx: o.ctx,
      reporter: o.reporter,
      journalDir: drillsDir(),
      reportDir: o.reportDir,
      timeoutSeconds: o.rtoTimeoutSeconds ?? 120,
      rtoSeconds: objectives.rto,
      members: o.members,
    })
  const client = chainfireClientFor(o.loaded, o.ctx, {commandTimeoutMs: 3000})
  const t0 = performance.now()
  const now = () => performance.now() - t0
  const checker = new HealthChecker({
    loaded: o.loaded,
    ctx: o.ctx,
    reporter: o.reporter,
    timeoutMs: 1000,
    components: ['chainfire'],
  })
  const monitor = new ClusterMonitor(client, checker, now)
  const remote = new Remote(o.loaded, o.ctx)
  const cleanups: (() => Promise<unknown>)[] = [
    async () => client.close(),
    async () => checker.close(),
    () => remote.close(),
  ]
  try {
    // Preflight: healthy, and able to lose a member.
    const pre = await monitor.settle(15_000)
    if (pre.failureTolerance < 1 || pre.healthy < monitor.voters) {
      throw new RefusedError(
        `preflight: ${pre.healthy}/${monitor.voters} members healthy, failure tolerance ${pre.failureTolerance}: a drill needs a healthy cluster that can lose a member`,
        {hint: 'plasmactl health'},
      )
    }
    const target = pickTarget(spec, o.ctx, pre.leader, o.node)
    if (spec.partition) {
      const why = await new RootShell(remote, o.ctx).unavailable(target)
      if (why) return skipped(o, spec, why)
    }
    if (spec.needsSnapshot && !o.noSnapshot) await requireFreshSnapshot(o)
    const {runId, journal} = await beginDrillRun(
      {ctx: o.ctx, reporter: o.reporter, client, cleanups},
      drillsDir(),
      spec.name,
      target.name,
    )
    const prefix = `/plasmactl/drill/${runId}/`
    const injector = new FaultInjector(remote, o.ctx, runId)
    // What the signal handler must take back (set once a fault is in).
    const live: {applied: {f: AppliedFault; node: NodeSpec}[]; reverted: boolean} = {applied: [], reverted: false}
    const revertAll = async () => {
      live.reverted = true
      await Promise.all(live.applied.map((a) => injector.revert(a.f, a.node)))
    }
    // Ctrl-C / SIGTERM: take the fault back first (the lock's own handler ends the process after).
    const onSignal = () => {
      if (live.applied.length > 0 && !live.reverted) {
        o.reporter.warn(`interrupted: reverting ${spec.fault} on ${live.applied.map((a) => a.node.name).join(', ')}`)
        void revertAll().catch(() => undefined)
        void journal.append({type: 'note', data: {aborted: true, reverted: spec.fault}}).catch(() => undefined)
      }
    }
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.prependListener(s, onSignal)
    cleanups.unshift(async () => {
      for (const s of ['SIGINT', 'SIGTERM'] as const) process.removeListener(s, onSignal)
    })
    // A drill that fails half-way still takes its fault back and deletes its keys.
    cleanups.unshift(
      async () => {
        if (!live.reverted) await revertAll()
      },
      () => client.deletePrefix(prefix),
    )

    const startRevision = (await client.get(prefix, {count_only: true})).header.revision + 1
    const intervalMs = workloadInterval(o.clients, o.rate ?? DEFAULT_RATE)
    const workload = new Workload({client, prefix, clients: o.clients, keys: 8, intervalMs, opTimeoutMs: 2000, now})
    monitor.start()
    const workloadStartedAt = now()
    workload.start(startRevision)
    // Idempotent: on the normal path they are stopped before the checks.
    cleanups.unshift(
      () => workload.stop(0),
      () => monitor.stop(),
    )
    o.reporter.info(
      `drill ${spec.name} (run ${runId}): workload of ${o.clients} clients, ${o.rate ?? DEFAULT_RATE} ops/s, on ${prefix}; baseline ${o.baselineSeconds}s`,
    )
    await sleep(o.baselineSeconds * 1000)

    const oldLeader = monitor.samples.at(-1)?.leader ?? pre.leader
    // A rolling restart hits every member (the runbook restarts them; each is guarded by a dead-man start).
    const rolling = spec.fault === 'rolling-restart'
    const victims =
      spec.fault === 'quorum-loss'
        ? majorityWithLeaderFirst(o.ctx, oldLeader)
        : rolling
          ? activeNodes(o.ctx).filter((n) => n.roles.includes('chainfire'))
          : [target]
    const holdMs = rolling ? 0 : o.holdSeconds * 1000
    const deadMan = rolling ? 600 : o.recover ? o.holdSeconds + 300 : o.holdSeconds
    const victimNames = victims.map((v) => v.name).join(', ')
    await journal.append({
      type: 'step-start',
      step: 'fault',
      target: victimNames,
      data: {kind: spec.fault, deadManSeconds: deadMan},
    })
    monitor.closely()
    const faultAt = now()
    for (const v of victims)
      live.applied.push({
        f: spec.partition
          ? await injector.partition(v, spec.partition, deadMan)
          : spec.fault === 'stop'
            ? await injector.stop(v, deadMan)
            : rolling
              ? await injector.guard(v, deadMan)
              : await injector.kill(v, deadMan),
        node: v,
      })
    await journal.append({type: 'step-end', step: 'fault', target: victimNames, ok: true})
    o.reporter.info(
      rolling
        ? `rolling restart of ${victimNames} (chainfire/rolling-restart)`
        : `fault: ${spec.fault} on ${victimNames}${victims[0].name === oldLeader ? ' (the leader first)' : ''}; holding ${o.holdSeconds}s`,
    )
    await sleep(holdMs)

    await journal.append({
      type: 'step-start',
      step: 'recover',
      target: victimNames,
      data: {method: o.recover ? spec.recovery : 'dead-man timer'},
    })
    const recoverAt = now()
    let recoveryStatus = 'ok'
    if (!o.recover && !rolling) {
      live.reverted = true
    } else if (spec.fault === 'stop' || spec.partition) {
      await revertAll()
    } else {
      const [name, params] =
        spec.fault === 'quorum-loss'
          ? ['chainfire/quorum-loss-recovery', {source: o.source ?? 'freshest'}]
          : rolling
            ? ['chainfire/rolling-restart', {}]
            : ['chainfire/restart-node', {node: target.name}]
      recoveryStatus = await runRecoveryRunbook(o, name, params)
      live.reverted = true
      for (const a of live.applied) await injector.disarm(a.f, a.node)
    }
    const recoveredAt = now()
    await journal.append({
      type: 'step-end',
      step: 'recover',
      target: target.name,
      ok: recoveryStatus === 'ok',
      error: recoveryStatus === 'ok' ? undefined : recoveryStatus,
    })
    const rtoAt = await monitor.waitTolerance(pre.failureTolerance, faultAt, (o.rtoTimeoutSeconds ?? 120) * 1000)
    monitor.relax()
    o.reporter.info(
      rtoAt === null
        ? 'failure tolerance did not come back in time'
        : `failure tolerance back after ${((rtoAt - faultAt) / 1000).toFixed(1)}s; observing ${o.afterSeconds}s more`,
    )
    const afterFrom = rtoAt ?? recoveredAt
    await sleep(o.afterSeconds * 1000)
    const workloadStoppedAt = now()
    await workload.stop()
    await monitor.stop()
    const end = now()

    // Checks: acknowledged sequenced writes read back, history, watch.
    const present = new Map(
      (await client.getPrefix(prefix + 'c')).kvs.map((kv) => [
        kv.key.toString('utf8').slice(prefix.length),
        kv.value.toString('utf8'),
      ]),
    )
    const seqAcked = workload.history.filter((op) => op.kind === 'seq' && acked(op))
    const lostAckedWrites = seqAcked.filter((op) => present.get(op.key) !== op.value).length
    const checks = checkHistory(workload.history, workload.watch)
    await client
      .deletePrefix(prefix)
      .catch((e) => o.reporter.warn(`could not delete the drill keys under ${prefix}: ${(e as Error).message}`))

    const ops = workload.history
    const detection = monitor.health.find((h) => h.t > faultAt && h.status !== 'ok')
    const newLeader = monitor.samples.find((s) => s.t > faultAt && s.leader !== null && s.leader !== oldLeader)
    // A healed partition forces an election (etcd 3.4: pre-vote off): one that came after the heal is
    // timed from the heal, not from the fault (the hold is not election time).
    const electionFrom = (t: number) => (spec.partition && t > recoverAt ? recoverAt : faultAt)
    const leaderFault = victims.some((v) => v.name === oldLeader)
    const baselineGap = longestAckGap(ops, 0, faultAt)
    const faultGap = longestAckGap(ops, faultAt, afterFrom)
    // Rolling restart: each member's down window; an election counts only where a leader went down.
    const members = rolling
      ? memberWindows(
          monitor.samples,
          ops,
          victims.map((v) => v.name),
          faultAt,
          recoveredAt,
          baselineGap,
        )
      : undefined
    const elections = (members ?? []).flatMap((w) => (w.electionSeconds === null ? [] : [w.electionSeconds]))
    const measures: DrillMeasures = {
      detectionSeconds: detection ? secs(detection.t - faultAt) : null,
      electionSeconds: rolling
        ? elections.length
          ? Math.max(...elections)
          : null
        : newLeader
          ? secs(newLeader.t - electionFrom(newLeader.t))
          : null,
      unavailableSeconds: secs(Math.max(0, faultGap - baselineGap)),
      failedOps: ops.filter((x) => x.outcome === 'fail').length,
      indeterminateOps: ops.filter((x) => x.outcome === 'indeterminate').length,
      ackedWrites: ops.filter(acked).length,
      lostAckedWrites,
      staleReads: checks.staleReads,
      linearizable: checks.linearizable,
      rtoSeconds: rtoAt === null ? null : secs(rtoAt - faultAt),
      latency: {
        before: latencyWindow(ops, 0, faultAt),
        during: latencyWindow(ops, faultAt, afterFrom),
        after: latencyWindow(ops, afterFrom, end),
      },
      ...(members ? {members} : {}),
    }
    const ackedDuringFault = ops.filter((x) => acked(x) && x.complete > faultAt && x.complete < recoveredAt).length
    const seenDown = (members ?? []).filter((w) => w.downAt !== null)
    const single = spec.fault !== 'quorum-loss'
    const slo: SloResult[] = [
      ...(single
        ? [
            {
              objective: 'leader election',
              limit: `< ${objectives.election}s`,
              value: measures.electionSeconds,
              // A client partition leaves the leader leading: no election is due.
              pass:
                leaderFault && spec.partition !== 'client' && !rolling
                  ? measures.electionSeconds !== null && measures.electionSeconds < objectives.election
                  : measures.electionSeconds === null || measures.electionSeconds < objectives.election,
            },
            members
              ? {
                  objective: 'cluster serves while each member restarts',
                  limit: 'writes acknowledged while each member is down',
                  value: seenDown.length ? Math.min(...seenDown.map((w) => w.ackedWrites)) : null,
                  pass: seenDown.length === members.length && seenDown.every((w) => w.ackedWrites > 0),
                }
              : {
                  objective: 'single node failure: cluster continues',
                  limit: 'writes acknowledged while the member is down',
                  value: ackedDuringFault,
                  pass: ackedDuringFault > 0,
                },
          ]
        : []),
      {objective: 'no acknowledged write lost', limit: '0', value: lostAckedWrites, pass: lostAckedWrites === 0},
      {objective: 'linearizable history', limit: 'true', value: checks.linearizable, pass: checks.linearizable},
      {
        objective: 'watch saw every revision once, in order',
        limit: 'true',
        value: checks.watch.ok,
        pass: checks.watch.ok,
      },
      {
        objective: 'failure tolerance restored',
        limit: `within ${o.rtoTimeoutSeconds ?? 120}s`,
        value: measures.rtoSeconds,
        pass: rtoAt !== null && recoveryStatus === 'ok',
      },
      ...configuredObjectives(objectives, measures),
    ]
    const reportDir = o.reportDir ?? join(drillsDir(), runId)
    const result: DrillResult = {
      ...(await endDrillRun(journal, slo, {runId, drill: spec.name, context: o.ctx.name, reportDir})),
      fault: {
        kind: spec.partition ? `${spec.partition}-partition` : spec.fault,
        node: victimNames,
        wasLeader: leaderFault,
        deadManSeconds: deadMan,
        ...(spec.partition ? {rules: live.applied.flatMap((a) => a.f.rules ?? [])} : {}),
      },
      recovery: {
        method: o.recover || rolling ? spec.recovery : 'dead-man timer (--no-recover)',
        status: recoveryStatus,
        seconds: secs(recoveredAt - recoverAt),
      },
      measures,
      slo,
      checks: {...checks, ackedSequencedWrites: seqAcked.length},
      workload: {
        clients: o.clients,
        rate: o.rate ?? DEFAULT_RATE,
        operations: ops.length,
        opsPerSecond: Math.round((ops.length / ((workloadStoppedAt - workloadStartedAt) / 1000)) * 10) / 10,
      },
      timeline: {
        faultAt: secs(faultAt)!,
        revertedAt: secs(recoveredAt)!,
        recoveredAt: rtoAt === null ? null : secs(rtoAt),
        end: secs(end)!,
      },
      samples: monitor.samples.map((s) => ({...s, t: secs(s.t)!})),
      health: monitor.health.map((h) => ({...h, started: secs(h.started)!, t: secs(h.t)!})),
      journal: journal.path,
      reportDir,
    }
    await writeDrillReport(reportDir, result, ops, journal.path)
    return result
  } finally {
    for (const c of cleanups) await c().catch(() => undefined)
  }
}

function skipped(o: DrillRunOptions, spec: DrillSpec, reason: string): DrillResult {
  o.reporter.warn(`drill ${spec.name} skipped: ${reason}`)
  return {
    runId: null,
    drill: spec.name,
    context: o.ctx.name,
    status: 'skipped',
    verdict: 'skipped',
    skipped: `skipped: ${reason}`,
  }
}
