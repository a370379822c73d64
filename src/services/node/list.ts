import type {LoadedConfig} from '../../config/load.js'
import type {Context} from '../../config/schema.js'
import {checkChainfire, type ChainfireHealth, shortError} from '../health/probes/chainfire.js'
import {clientFor, memberOfNode} from './common.js'

export interface NodeListEntry {
  name: string
  address: string | null
  roles: string[]
  /** active: in the context; removed: marked removed; unknown: a member the context does not list. */
  state: 'active' | 'removed' | 'unknown'
  chainfire: {
    id: string
    learner: boolean
    leader: boolean
    healthy: boolean
    reachable: boolean
    error: string | null
  } | null
}

export interface NodeListResult {
  context: string
  nodes: NodeListEntry[]
  cluster: Pick<
    ChainfireHealth,
    'leader' | 'voters' | 'votersHealthy' | 'failureTolerance' | 'learners' | 'quorum'
  > | null
  error: string | null
}

/** Context nodes joined with the ChainFire member list (members the context does not know are listed too). */
export async function listNodes(opts: {
  loaded: LoadedConfig
  ctx: Context
  timeoutMs: number
}): Promise<NodeListResult> {
  const {ctx} = opts
  let health: ChainfireHealth | undefined
  let members: Awaited<ReturnType<ReturnType<typeof clientFor>['memberList']>>['members'] = []
  let error: string | null = null
  const hasChainfire = ctx.nodes.some((n) => n.roles.includes('chainfire')) || Boolean(ctx.chainfire?.endpoints?.length)
  if (hasChainfire) {
    const client = clientFor(opts.loaded, ctx)
    try {
      health = (await checkChainfire(client, ctx, opts.timeoutMs)).details
      members = (await client.memberList()).members
    } catch (e) {
      error = shortError(e)
    } finally {
      client.close()
    }
  }
  const seen = new Set<string>()
  const row = (id: string) => {
    const h = health?.members.find((m) => m.id === id)
    const m = members.find((x) => x.id === id)
    return {
      id,
      learner: Boolean(m?.isLearner ?? h?.learner),
      leader: Boolean(h?.leader),
      healthy: Boolean(h?.healthy),
      reachable: Boolean(h?.reachable),
      error: h?.error ?? null,
    }
  }
  const nodes: NodeListEntry[] = ctx.nodes.map((n) => {
    const m = memberOfNode(ctx, n, members)
    if (m) seen.add(m.id)
    return {
      name: n.name,
      address: n.address,
      roles: n.roles,
      state: n.removed ? 'removed' : 'active',
      chainfire: m ? row(m.id) : null,
    }
  })
  for (const m of members.filter((x) => !seen.has(x.id)))
    nodes.push({name: m.name || m.id, address: null, roles: ['chainfire'], state: 'unknown', chainfire: row(m.id)})
  const cluster = health
    ? {
        leader: health.leader,
        voters: health.voters,
        votersHealthy: health.votersHealthy,
        failureTolerance: health.failureTolerance,
        learners: health.learners,
        quorum: health.quorum,
      }
    : null
  return {context: ctx.name, nodes, cluster, error: error ?? (health && !health.quorum ? 'quorum lost' : null)}
}
