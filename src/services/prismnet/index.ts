import {parseRemote, queryServer, type OvsdbServerInfo} from '../../adapters/ovsdb/index.js'
import {activeNodes, configPath} from '../../config/context.js'
import type {LoadedConfig} from '../../config/load.js'
import type {Context} from '../../config/schema.js'
import {majority} from '../health/quorum.js'
import type {Finding} from '../health/types.js'

export const DB_NAMES = {nb: 'OVN_Northbound', sb: 'OVN_Southbound'} as const
export type DbRole = keyof typeof DB_NAMES

export interface OvsdbMemberHealth {
  /** Node name when the remote's host is a configured node's address, else the remote. */
  name: string
  remote: string
  reachable: boolean
  /** From _Server.Database: part of a cluster that has a leader (always true for standalone). */
  connected: boolean
  leader: boolean
  model: string | null
  cid: string | null
  sid: string | null
  index: number | null
  latencyMs: number | null
  error: string | null
}

export interface OvsdbClusterHealth {
  role: DbRole
  db: string
  model: string | null
  clusterId: string | null
  clusterIdAgrees: boolean
  leader: string | null
  members: OvsdbMemberHealth[]
  reachable: number
  connected: number
  /** A leader exists and a majority of members is reachable and connected. */
  quorum: boolean
}

export interface PrismnetHealth {
  nb: OvsdbClusterHealth | null
  sb: OvsdbClusterHealth | null
}

export interface PrismnetOptions {
  loaded?: LoadedConfig
  ctx: Context
  timeoutMs?: number
}

export function prismnetConfigured(ctx: Context): boolean {
  return Boolean(ctx.prismnet?.nb?.length || ctx.prismnet?.sb?.length)
}

function tlsOf(opts: PrismnetOptions) {
  const t = opts.ctx.prismnet?.tls
  if (!t) return undefined
  const p = (x?: string) => (x && opts.loaded ? configPath(opts.loaded, x) : x)
  return {ca: p(t.ca), cert: p(t.cert), key: p(t.key), serverName: t['server-name']}
}

function memberName(ctx: Context, remote: string): string {
  try {
    const host = parseRemote(remote).host
    const same = activeNodes(ctx).filter((n) => n.address === host)
    return same.length === 1 ? same[0].name : remote
  } catch {
    return remote
  }
}

async function checkCluster(opts: PrismnetOptions, role: DbRole, remotes: string[]): Promise<OvsdbClusterHealth> {
  const db = DB_NAMES[role]
  const tls = tlsOf(opts)
  const results = await Promise.all(
    remotes.map(async (remote): Promise<{remote: string; info?: OvsdbServerInfo; error?: string}> => {
      try {
        return {remote, info: await queryServer(remote, {tls, timeoutMs: opts.timeoutMs ?? 3000})}
      } catch (error) {
        return {remote, error: (error as Error).message.replace(`${remote}: `, '')}
      }
    }),
  )
  const members: OvsdbMemberHealth[] = results.map(({remote, info, error}) => {
    const row = info?.databases.find((d) => d.name === db)
    const missing = info && !row ? `database ${db} is not served here (has: ${info.dbs.join(', ')})` : null
    return {
      name: memberName(opts.ctx, remote),
      remote,
      reachable: Boolean(info),
      connected: Boolean(row?.connected),
      leader: Boolean(row?.leader && row.connected),
      model: row?.model ?? null,
      cid: row?.cid ?? null,
      sid: row?.sid ?? null,
      index: row?.index ?? null,
      latencyMs: info?.latencyMs ?? null,
      error: error ?? missing,
    }
  })
  const cids = [...new Set(members.map((m) => m.cid).filter((c): c is string => c !== null))]
  const models = [...new Set(members.map((m) => m.model).filter((c): c is string => c !== null))]
  const reachable = members.filter((m) => m.reachable).length
  const connected = members.filter((m) => m.reachable && m.connected).length
  const leaders = members.filter((m) => m.leader)
  const clustered = models.includes('clustered')
  const quorum = leaders.length > 0 && (clustered ? connected >= majority(members.length) : connected > 0)
  return {
    role,
    db,
    model: models.join(',') || null,
    clusterId: cids.length === 1 ? cids[0] : cids.length === 0 ? null : cids.join(','),
    clusterIdAgrees: cids.length <= 1,
    leader: leaders.length === 1 ? leaders[0].name : leaders.length === 0 ? null : leaders.map((l) => l.name).join(','),
    members,
    reachable,
    connected,
    quorum,
  }
}

export async function checkPrismnet(opts: PrismnetOptions): Promise<{details: PrismnetHealth; findings: Finding[]}> {
  const p = opts.ctx.prismnet ?? {}
  const [nb, sb] = await Promise.all([
    p.nb?.length ? checkCluster(opts, 'nb', p.nb) : Promise.resolve(null),
    p.sb?.length ? checkCluster(opts, 'sb', p.sb) : Promise.resolve(null),
  ])
  const details = {nb, sb}
  return {
    details,
    findings: [...(nb ? clusterFindings(nb) : []), ...(sb ? clusterFindings(sb) : [])].sort((a, b) =>
      a.status === b.status ? 0 : a.status === 'crit' ? -1 : 1,
    ),
  }
}

export function clusterFindings(c: OvsdbClusterHealth): Finding[] {
  const f: Finding[] = []
  const label = c.role === 'nb' ? 'OVN Northbound DB' : 'OVN Southbound DB'
  const n = c.members.length
  if (c.reachable === 0) {
    f.push({
      status: 'crit',
      message: `${label}: no member reachable (${c.members.map((m) => `${m.name}: ${m.error}`).join('; ')}); the SDN control plane is down`,
    })
    return f
  }
  const clustered = c.model?.includes('clustered') ?? false
  if (clustered && c.connected < majority(n)) {
    f.push({
      status: 'crit',
      message: `${label}: QUORUM LOST: ${c.connected} of ${n} members reachable and connected, ${majority(n)} needed; network changes are not accepted`,
    })
  } else if (!c.leader) {
    f.push({status: 'crit', message: `${label}: no leader`})
  } else if (c.leader.includes(',')) {
    f.push({status: 'crit', message: `${label}: more than one member claims leadership (${c.leader})`})
  }
  if (!c.clusterIdAgrees)
    f.push({
      status: 'crit',
      message: `${label}: members disagree on the cluster id (${c.clusterId}): a remote points at another cluster`,
    })
  for (const m of c.members) {
    if (!m.reachable)
      f.push({
        status: 'warn',
        target: m.name,
        message: `${label}: member ${m.name} (${m.remote}) is down: ${m.error ?? 'unreachable'}`,
      })
    else if (m.error) f.push({status: 'crit', target: m.name, message: `${label}: ${m.name}: ${m.error}`})
    else if (!m.connected)
      f.push({
        status: 'warn',
        target: m.name,
        message: `${label}: member ${m.name} is up but not connected to the cluster`,
      })
  }
  if (clustered && c.quorum && n > 1 && c.connected === majority(n)) {
    f.push({
      status: 'warn',
      message: `${label}: failure tolerance 0: losing one more member loses quorum (${c.connected}/${n} connected)`,
    })
  }
  return f
}

export function prismnetSummary(d: PrismnetHealth): string {
  const one = (c: OvsdbClusterHealth) =>
    c.reachable === 0
      ? `${c.role.toUpperCase()} unreachable`
      : `${c.role.toUpperCase()} leader ${c.leader ?? 'NONE'}, ${c.connected}/${c.members.length} connected`
  return [d.nb, d.sb]
    .filter((c): c is OvsdbClusterHealth => c !== null)
    .map(one)
    .join('; ')
}
