import type {ChainfireClient} from '../adapters/chainfire/index.js'
import {activeNodes, findNode, nodeClientUrl, nodePeerUrl} from '../config/context.js'
import {ROLES} from '../config/roles.js'
import type {Context, NodeSpec, Role} from '../config/schema.js'
import {UsageError} from '../errors.js'
import {type ChainfireHealth, checkChainfire} from '../services/health/probes/chainfire.js'
import {impactOfStopping} from '../services/health/quorum.js'
import {dataDirOf} from '../services/snapshot/restore.js'
import {didYouMean} from '../suggest.js'

/** What a run records about the cluster at each step: enough to notice it changed under a resume. */
export interface ClusterFingerprint {
  clusterId: string | null
  members: string[]
  leader: string | null
  revision: number | null
}

export function fingerprintOf(h: ChainfireHealth): ClusterFingerprint {
  return {
    clusterId: h.clusterId,
    members: h.members.map((m) => `${m.name}:${m.id ?? '?'}${m.learner ? ':learner' : ''}`).sort(),
    leader: h.leader,
    revision: h.revision,
  }
}

/** The part of the fingerprint that must match for a resume to go on without asking. */
export function sameCluster(a: ClusterFingerprint | undefined, b: ClusterFingerprint): boolean {
  return a !== undefined && a.clusterId === b.clusterId && a.members.join(',') === b.members.join(',')
}

/** Live cluster view for target resolution and conditions; refreshed whenever a step needs it. */
export class ClusterView {
  constructor(
    readonly ctx: Context,
    readonly client: ChainfireClient,
    private readonly timeoutMs = 3000,
  ) {}

  health(): Promise<ChainfireHealth> {
    return checkChainfire(this.client, this.ctx, this.timeoutMs).then((r) => r.details)
  }
}

/** The cluster's state in one line, for an abort message: who is down, what failure tolerance is left. */
export function clusterStateText(h: ChainfireHealth): string {
  if (!h.quorum) return `no quorum (${h.votersHealthy}/${h.voters} voters healthy)`
  const down = h.members.filter((m) => !m.healthy && !m.learner).map((m) => m.name)
  return `${down.length ? `${down.join(', ')} ${down.length === 1 ? 'is' : 'are'} down` : 'every member is healthy'}, leader ${h.leader ?? 'none'}, failure tolerance ${h.failureTolerance}`
}

export function nodeVars(ctx: Context, n: NodeSpec) {
  return {
    name: n.name,
    address: n.address,
    data_dir: dataDirOf(ctx, n),
    peer_url: nodePeerUrl(ctx, n),
    client_url: nodeClientUrl(ctx, n),
  }
}

/**
 * Resolves target expressions (already rendered) to context nodes, live: all, leader, followers,
 * node:NAME, NAME, role:ROLE. `leader-last` puts the current leader at the end.
 */
export async function resolveTargets(
  ctx: Context,
  exprs: string[],
  health: () => Promise<ChainfireHealth>,
  order: 'as-listed' | 'leader-last' = 'as-listed',
): Promise<NodeSpec[]> {
  const out: NodeSpec[] = []
  const add = (n: NodeSpec) => {
    if (!out.includes(n)) out.push(n)
  }
  let h: ChainfireHealth | undefined
  const live = async () => (h ??= await health())
  const chainfireNodes = () => activeNodes(ctx).filter((n) => n.roles.includes('chainfire'))
  for (const e of exprs) {
    if (e === 'all') activeNodes(ctx).forEach(add)
    else if (e === 'leader') {
      const l = (await live()).leader
      if (!l) throw new UsageError('target "leader": the cluster has no leader now')
      add(findNode(ctx, l))
    } else if (e === 'followers') {
      const hh = await live()
      chainfireNodes()
        .filter((n) => n.name !== hh.leader && hh.members.some((m) => m.name === n.name))
        .forEach(add)
    } else if (e.startsWith('role:')) {
      const role = e.slice(5)
      if (!(ROLES as readonly string[]).includes(role))
        throw new UsageError(
          `unknown role "${role}" in target "${e}" (roles: ${ROLES.join(', ')})${didYouMean(role, ROLES)}`,
        )
      activeNodes(ctx)
        .filter((n) => n.roles.includes(role as Role))
        .forEach(add)
    } else add(findNode(ctx, e.startsWith('node:') ? e.slice(5) : e))
  }
  if (order === 'leader-last') {
    const l = (await live()).leader
    out.sort((a, b) => Number(a.name === l) - Number(b.name === l))
  }
  return out
}

/** Batches for rolling work: `serial` nodes at a time ("tolerance": the failure tolerance, at least 1); the leader always alone, last. */
export function batches(
  nodes: NodeSpec[],
  serial: number | 'tolerance' | undefined,
  h: ChainfireHealth | undefined,
): NodeSpec[][] {
  if (serial === undefined) return nodes.length ? [nodes] : []
  const size = serial === 'tolerance' ? Math.max(1, h?.failureTolerance ?? 1) : serial
  const leader = nodes.filter((n) => n.name === h?.leader)
  const rest = nodes.filter((n) => n.name !== h?.leader)
  const out: NodeSpec[][] = []
  for (let i = 0; i < rest.length; i += size) out.push(rest.slice(i, i + size))
  if (leader.length) out.push(leader)
  return out
}

export interface QuorumImpact {
  verb: string
  nodes: string[]
  votersRemaining: number
  voters: number
  failureTolerance: number
  quorum: boolean
  text: string
}

/** Quorum impact of stopping (or removing) these nodes' ChainFire members. */
export function quorumImpact(
  h: ChainfireHealth,
  verb: 'stop' | 'restart' | 'remove',
  nodes: string[],
): QuorumImpact | undefined {
  const voters = h.members.filter((m) => !m.learner)
  const affected = voters.filter((m) => nodes.includes(m.name))
  if (affected.length === 0) return undefined
  const down = h.voters - h.votersHealthy
  let remaining: number
  let total: number
  let tolerance: number
  let quorum: boolean
  if (verb === 'remove') {
    // Removing a member shrinks the cluster: a dead member's removal also removes a failure.
    const deadRemoved = affected.filter((m) => !m.healthy).length
    total = h.voters - affected.length
    const downAfter = down - deadRemoved
    const r = impactOfStopping(total, downAfter, 0)
    remaining = r.upAfter
    tolerance = r.failureTolerance
    quorum = r.quorum
  } else {
    const live = affected.filter((m) => m.healthy).length
    const r = impactOfStopping(h.voters, down, live)
    total = h.voters
    remaining = r.upAfter
    tolerance = r.failureTolerance
    quorum = r.quorum
  }
  const text = `${verb} ${affected.map((m) => m.name).join(', ')}: ${remaining}/${total} voters remain${verb === 'restart' ? ' while it restarts' : ''}, failure tolerance ${tolerance}${quorum ? '' : ' — QUORUM LOST'}`
  return {
    verb,
    nodes: affected.map((m) => m.name),
    votersRemaining: remaining,
    voters: total,
    failureTolerance: tolerance,
    quorum,
    text,
  }
}
