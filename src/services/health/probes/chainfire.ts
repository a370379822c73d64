import {setTimeout} from 'node:timers/promises'
import {
  ChainfireCallError,
  chainfireClientFor,
  type ChainfireClient,
  type EndpointSpec,
  type Member,
  type StatusResponse,
} from '../../../adapters/chainfire/index.js'
import {nodesWithRole} from '../../../config/context.js'
import type {Context} from '../../../config/schema.js'
import {failureTolerance, hasQuorum, majority} from '../quorum.js'
import {cached, type Finding, type Probe, type ProbeContext} from '../types.js'
import {compareText} from '../../../core/compare.js'

/** Raft entries a member may trail the leader by before health warns. */
export const LAG_WARN_ENTRIES = 1000

/** What a member is in raft right now; a member that does not answer is unknown (it may have been the leader). */
export type MemberRole = 'leader' | 'follower' | 'learner' | 'unknown'

export function memberRole(m: Pick<MemberHealth, 'reachable' | 'leader' | 'learner'>): MemberRole {
  return !m.reachable ? 'unknown' : m.leader ? 'leader' : m.learner ? 'learner' : 'follower'
}

export interface MemberHealth {
  name: string
  /** Set by checkChainfire (memberRole). */
  role?: MemberRole
  id: string | null
  endpoint: string | null
  reachable: boolean
  healthy: boolean
  leader: boolean
  learner: boolean
  raftTerm: number | null
  raftIndex: number | null
  appliedIndex: number | null
  lag: number | null
  dbSize: number | null
  dbSizeInUse: number | null
  version: string | null
  clusterId: string | null
  alarms: string[]
  latencyMs: number | null
  error: string | null
}

export interface ChainfireHealth {
  clusterId: string | null
  clusterIdAgrees: boolean
  leader: string | null
  leaderId: string | null
  raftTerm: number | null
  revision: number | null
  quorum: boolean
  voters: number
  votersHealthy: number
  quorumSize: number
  failureTolerance: number
  learners: number
  alarms: {member: string; alarm: string}[]
  members: MemberHealth[]
}

interface EndpointResult {
  endpoint: EndpointSpec
  status?: StatusResponse
  readOk: boolean
  error?: string
  latencyMs: number
}

async function probeEndpoint(
  client: ChainfireClient,
  endpoint: EndpointSpec,
  timeoutMs: number,
): Promise<EndpointResult> {
  const started = performance.now()
  let status: StatusResponse
  try {
    status = await client.status(endpoint, timeoutMs)
  } catch (error) {
    return {endpoint, readOk: false, error: shortError(error), latencyMs: Math.round(performance.now() - started)}
  }
  // A member that knows it has no leader cannot serve a linearizable read: do not wait for the timeout.
  if (status.leader === '0')
    return {endpoint, status, readOk: false, error: 'no leader', latencyMs: Math.round(performance.now() - started)}
  // "leader changed": an election has just finished (e.g. the leader died a moment ago). The next read
  // is served by the new leader, so try again while the probe's time lasts instead of reporting a
  // quorum loss that lasted one election.
  const deadline = started + timeoutMs
  for (let attempt = 0; ; attempt++) {
    try {
      await client.linearizableRead(endpoint, Math.max(100, Math.round(deadline - performance.now())))
      // After an election the status read before it names the old leader: read it again.
      if (attempt > 0)
        status = await client
          .status(endpoint, Math.max(100, Math.round(deadline - performance.now())))
          .catch(() => status)
      return {endpoint, status, readOk: true, latencyMs: Math.round(performance.now() - started)}
    } catch (error) {
      if (/leader changed/i.test((error as Error)?.message ?? '') && deadline - performance.now() > 250) {
        await setTimeout(100)
        continue
      }
      return {
        endpoint,
        status,
        readOk: false,
        error: `linearizable read failed: ${shortError(error)}`,
        latencyMs: Math.round(performance.now() - started),
      }
    }
  }
}

/** One short reason from a gRPC failure: "connection refused", "no answer within 3s", the server's words. */
export function shortError(error: unknown): string {
  if (error instanceof ChainfireCallError) return error.reason.replace(/ \(is the member running\?\)$/, '')
  const msg = (error as Error)?.message ?? String(error)
  if (/ECONNREFUSED/.test(msg)) return 'connection refused'
  if (/EHOSTUNREACH|ENETUNREACH/.test(msg)) return 'host unreachable'
  const m = /failed: [A-Z_]+: (.*)$/.exec(msg)
  return (m?.[1] ?? msg)
    .replace(/\s*Last error: null\.?/, '')
    .replace(/\s*Resolution note:.*$/, '')
    .trim()
}

function sameUrl(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '')
}

/** Probes every member in parallel: total time is the slowest member, not the sum. */
export async function checkChainfire(
  client: ChainfireClient,
  ctx: Context,
  timeoutMs: number,
): Promise<{details: ChainfireHealth; findings: Finding[]}> {
  const results = await Promise.all(client.endpoints.map((e) => probeEndpoint(client, e, timeoutMs)))
  const reachable = results.filter((r) => r.status)
  // The member list as the leader sees it when possible, else any reachable member's view.
  const leaderIds = reachable.map((r) => r.status!.leader).filter((l) => l !== '0')
  const selfLeader = reachable.find((r) => r.status!.leader === r.status!.header.memberId)
  let members: Member[] = []
  let listError: string | undefined
  for (const r of selfLeader ? [selfLeader, ...reachable] : reachable) {
    try {
      members = (await client.memberList(r.endpoint)).members
      break
    } catch (error) {
      listError = (error as Error).message
    }
  }

  // Members the configured endpoints do not cover are probed at their advertised client URL.
  const matched = new Set<string>()
  const byMember = new Map<string, EndpointResult>()
  for (const r of results) {
    const m = r.status
      ? members.find((x) => x.id === r.status!.header.memberId)
      : members.find((x) => x.clientURLs.some((u) => sameUrl(u, r.endpoint.url)) || x.name === r.endpoint.name)
    if (m) {
      byMember.set(m.id, r)
      matched.add(r.endpoint.url)
    }
  }
  const extra = members.filter((m) => !byMember.has(m.id) && m.clientURLs.length > 0)
  const extraResults = await Promise.all(
    extra.map((m) => probeEndpoint(client, {name: m.name || m.id, url: m.clientURLs[0]}, timeoutMs)),
  )
  extra.forEach((m, i) => byMember.set(m.id, extraResults[i]))

  const leaderId = selfLeader?.status!.header.memberId ?? mostCommon(leaderIds) ?? null
  const leaderStatus = [...byMember.values()].find((r) => r.status?.header.memberId === leaderId)?.status
  const rows: MemberHealth[] = [...members]
    .sort((a, b) => compareText(a.name, b.name))
    .map((m) => {
      const r = byMember.get(m.id)
      const s = r?.status
      const alarms = (s?.errors ?? []).flatMap((e) => /alarm:\s*(NOSPACE|CORRUPT)/.exec(e)?.[1] ?? [])
      return {
        name: m.name || r?.endpoint.name || m.id,
        id: m.id,
        endpoint: r?.endpoint.url ?? m.clientURLs[0] ?? null,
        reachable: Boolean(s),
        healthy: Boolean(s) && Boolean(r?.readOk) && !alarms.includes('CORRUPT'),
        leader: m.id === leaderId,
        learner: m.isLearner,
        raftTerm: s?.raftTerm ?? null,
        raftIndex: s?.raftIndex ?? null,
        appliedIndex: s?.raftAppliedIndex ?? null,
        lag: s && leaderStatus ? Math.max(0, leaderStatus.raftIndex - s.raftAppliedIndex) : null,
        dbSize: s?.dbSize ?? null,
        dbSizeInUse: s?.dbSizeInUse ?? null,
        version: s?.version ?? null,
        clusterId: s?.header.clusterId ?? null,
        alarms,
        latencyMs: r?.latencyMs ?? null,
        error: r?.error ?? (r ? null : 'no client URL to probe'),
      }
    })
  // Configured endpoints that match no member (member list unavailable, or a stale endpoint).
  for (const r of results) {
    if (matched.has(r.endpoint.url)) continue
    rows.push({
      name: r.endpoint.name,
      id: r.status?.header.memberId ?? null,
      endpoint: r.endpoint.url,
      reachable: Boolean(r.status),
      healthy: Boolean(r.status) && r.readOk,
      leader: Boolean(r.status && r.status.header.memberId === leaderId),
      learner: r.status?.isLearner ?? false,
      raftTerm: r.status?.raftTerm ?? null,
      raftIndex: r.status?.raftIndex ?? null,
      appliedIndex: r.status?.raftAppliedIndex ?? null,
      lag: null,
      dbSize: r.status?.dbSize ?? null,
      dbSizeInUse: r.status?.dbSizeInUse ?? null,
      version: r.status?.version ?? null,
      clusterId: r.status?.header.clusterId ?? null,
      alarms: [],
      latencyMs: r.latencyMs,
      error: r.error ?? (members.length > 0 ? 'endpoint is not a member of this cluster' : null),
    })
  }

  for (const r of rows) r.role = memberRole(r)
  const voters = members.length > 0 ? members.filter((m) => !m.isLearner).length : rows.length
  const votersHealthy = rows.filter((r) => !r.learner && r.healthy && (members.length === 0 || r.id)).length
  const quorum = hasQuorum(voters, voters - votersHealthy) && leaderId !== null
  const clusterIds = [...new Set(rows.map((r) => r.clusterId).filter((x): x is string => x !== null))]
  const alarms = rows.flatMap((r) => r.alarms.map((alarm) => ({member: r.name, alarm})))
  const details: ChainfireHealth = {
    clusterId: clusterIds.length === 1 ? clusterIds[0] : clusterIds.length === 0 ? null : clusterIds.join(','),
    clusterIdAgrees: clusterIds.length <= 1,
    leader: rows.find((r) => r.leader)?.name ?? null,
    leaderId,
    raftTerm: leaderStatus?.raftTerm ?? null,
    revision: leaderStatus?.header.revision ?? null,
    quorum,
    voters,
    votersHealthy,
    quorumSize: majority(voters),
    failureTolerance: quorum ? failureTolerance(voters, voters - votersHealthy) : 0,
    learners: members.filter((m) => m.isLearner).length,
    alarms,
    members: rows,
  }
  return {details, findings: findingsFor(details, ctx, listError)}
}

function mostCommon(values: string[]): string | undefined {
  const counts = new Map<string, number>()
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1)
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0]
}

function findingsFor(d: ChainfireHealth, ctx: Context, listError?: string): Finding[] {
  const f: Finding[] = []
  const down = d.members.filter((m) => !m.reachable)
  const back = down
    .filter((m) => !m.learner)
    .map((m) => `plasmactl runbook run chainfire/restart-node -p node=${m.name}`)
  const recover = [
    ...(back.length > 0 ? [`${back.join(' ; ')}   (while the members can come back)`] : []),
    'plasmactl runbook run chainfire/quorum-loss-recovery   (when they cannot: restore from the newest snapshot)',
  ].join('\n')
  if (d.members.every((m) => !m.reachable)) {
    f.push({
      status: 'crit',
      message: `no ChainFire member is reachable${listError ? ` (${shortError(new Error(listError))})` : ''}`,
      fix: recover,
    })
  } else if (!d.quorum) {
    f.push({
      status: 'crit',
      message: `QUORUM LOST: ${d.votersHealthy} of ${d.voters} voters healthy, ${d.quorumSize} needed; writes and linearizable reads fail until members return or the cluster is restored from a snapshot`,
      fix: recover,
    })
  } else if (!d.leader) {
    f.push({status: 'crit', message: 'no leader'})
  }
  if (!d.clusterIdAgrees)
    f.push({
      status: 'crit',
      message: `members disagree on the cluster id (${d.clusterId}): an endpoint points at another cluster`,
    })
  for (const m of down) {
    const hung = /no answer/.test(m.error ?? '')
    f.push({
      status: 'warn',
      target: m.name,
      message: hung
        ? `member ${m.name} is not answering (hung or overloaded): ${m.error}`
        : `member ${m.name} is down: ${m.error ?? 'unreachable'}`,
      fix: `plasmactl runbook run chainfire/restart-node -p node=${m.name}`,
    })
  }
  for (const m of d.members.filter((x) => x.reachable && !x.healthy)) {
    f.push({
      status: 'warn',
      target: m.name,
      message: `member ${m.name} is up but unhealthy: ${m.error ?? 'linearizable read failed'}`,
    })
  }
  for (const a of d.alarms) {
    f.push({
      status: 'crit',
      target: a.member,
      message: `alarm ${a.alarm} on ${a.member}${a.alarm === 'NOSPACE' ? ': the cluster accepts no writes until space is freed (compact, defrag, disarm)' : ''}`,
    })
  }
  if (d.quorum && d.failureTolerance === 0) {
    f.push({
      status: 'warn',
      message: `failure tolerance 0: losing one more voter loses quorum (${d.votersHealthy}/${d.voters} voters healthy)`,
    })
  }
  for (const m of d.members.filter((x) => x.lag !== null && x.lag > LAG_WARN_ENTRIES)) {
    f.push({status: 'warn', target: m.name, message: `member ${m.name} lags the leader by ${m.lag} raft entries`})
  }
  const names = new Set(d.members.map((m) => m.name))
  for (const n of nodesWithRole(ctx, 'chainfire')) {
    if (d.members.length > 0 && !names.has(n.name))
      f.push({
        status: 'warn',
        target: n.name,
        message: `node ${n.name} has the chainfire role but is not a cluster member`,
      })
  }
  if (d.quorum && d.voters % 2 === 0)
    f.push({
      status: 'warn',
      message: `${d.voters} voters: an even count tolerates no more failures than ${d.voters - 1}`,
    })
  return f.sort((a, b) => (a.status === b.status ? 0 : a.status === 'crit' ? -1 : 1))
}

function summary(d: ChainfireHealth): string {
  if (d.members.every((m) => !m.reachable)) return 'unreachable'
  if (!d.quorum) return `quorum lost (${d.votersHealthy}/${d.voters} voters healthy)`
  return `leader ${d.leader}, ${d.votersHealthy}/${d.voters} voters healthy, failure tolerance ${d.failureTolerance}`
}

export const chainfireProbe: Probe<ChainfireHealth> = {
  component: 'chainfire',
  applies: (ctx) => Boolean(ctx.chainfire?.endpoints?.length) || nodesWithRole(ctx, 'chainfire').length > 0,
  async run(pc: ProbeContext) {
    const client = cached(pc, 'chainfire', () => chainfireClientFor(pc.loaded, pc.ctx))
    const {details, findings} = await checkChainfire(client, pc.ctx, pc.timeoutMs ?? 3000)
    return {summary: summary(details), findings, details}
  },
}
