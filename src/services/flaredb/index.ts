import {chainfireClientFor, type ChainfireClient} from '../../adapters/chainfire/index.js'
import {grpcHealthCheck, type ServingStatus} from '../../adapters/grpc-health/index.js'
import {activeNodes, configPath, findNode} from '../../config/context.js'
import {formatDuration, parseDuration} from '../../config/duration.js'
import type {LoadedConfig} from '../../config/load.js'
import type {Context} from '../../config/schema.js'
import {majority} from '../health/quorum.js'
import {withDeadline} from '../health/deadline.js'
import type {Finding, Status} from '../health/types.js'
import {worst} from '../health/types.js'
import {compareNatural, compareText} from '../../core/compare.js'

/**
 * FlareDB health from two sources: the placement driver's metadata in ChainFire (docs/flaredb-metadata.md)
 * and each store's standard gRPC health service. A record that does not parse is reported by its key
 * and never hides the others.
 */
export const STORES_PREFIX = '/flaredb/stores/'
export const REGIONS_PREFIX = '/flaredb/regions/'
export const DEFAULT_HEARTBEAT_MS = 10_000
/** A heartbeat older than this many intervals is stale. */
export const STALE_AFTER_INTERVALS = 3
/** FlareDB loses data below this replication factor (HA notes). */
export const MIN_REPLICAS = 3

export interface StoreRecord {
  id: string
  address: string
  state: string
  lastHeartbeat: string
  node?: string
}

export interface RegionRecord {
  id: string
  replicas: string[]
  leader?: string
}

export interface InvalidRecord {
  key: string
  error: string
}

export interface StoreHealth {
  id: string
  key: string
  node: string | null
  address: string
  state: string
  lastHeartbeat: string
  heartbeatAgeMs: number | null
  stale: boolean
  health: ServingStatus | 'UNREACHABLE' | 'NOT_PROBED'
  healthError: string | null
  latencyMs: number | null
  /** Up in the record, fresh heartbeat, and SERVING. */
  live: boolean
}

export interface RegionHealth {
  id: string
  key: string
  replicas: string[]
  liveReplicas: string[]
  lostReplicas: string[]
  status: Status
}

export interface FlaredbHealth {
  heartbeatIntervalMs: number
  staleAfterMs: number
  stores: StoreHealth[]
  regions: RegionHealth[]
  invalid: InvalidRecord[]
  /** Configured store endpoints that no store record names. */
  unknownEndpoints: {endpoint: string; health: string}[]
  liveStores: number
  underReplicated: number
}

export interface FlaredbOptions {
  loaded?: LoadedConfig
  ctx: Context
  timeoutMs?: number
  /** A ChainFire client to reuse (the health probe's). */
  client?: ChainfireClient
  now?: number
}

export function flaredbConfigured(ctx: Context): boolean {
  return Boolean(ctx.flaredb) || activeNodes(ctx).some((n) => n.roles.includes('flaredb'))
}

const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0
const asId = (v: unknown): string | undefined =>
  typeof v === 'number' && Number.isInteger(v) ? String(v) : isStr(v) ? v : undefined

/** The record's JSON object, or what is wrong with it. */
function jsonObject(
  key: string,
  value: string,
): {v: Record<string, unknown>; invalid?: undefined} | {v?: undefined; invalid: InvalidRecord} {
  let v: unknown
  try {
    v = JSON.parse(value)
  } catch (error) {
    return {invalid: {key, error: `not JSON (${(error as Error).message})`}}
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return {invalid: {key, error: 'not a JSON object'}}
  return {v: v as Record<string, unknown>}
}

/** Parses a store record; returns an error naming what is wrong. */
export function parseStoreRecord(key: string, value: string): StoreRecord | InvalidRecord {
  const {v, invalid} = jsonObject(key, value)
  if (invalid) return invalid
  const missing = ['address', 'state', 'lastHeartbeat'].filter((k) => !isStr(v[k]))
  if (missing.length > 0)
    return {key, error: `missing or empty field${missing.length > 1 ? 's' : ''} ${missing.join(', ')}`}
  if (Number.isNaN(Date.parse(v.lastHeartbeat as string)))
    return {key, error: `lastHeartbeat "${String(v.lastHeartbeat)}" is not a time`}
  const id = asId(v.id) ?? key.slice(STORES_PREFIX.length)
  if (asId(v.id) && asId(v.id) !== key.slice(STORES_PREFIX.length))
    return {key, error: `id ${String(v.id)} does not match the key`}
  return {
    id,
    address: v.address as string,
    state: v.state as string,
    lastHeartbeat: v.lastHeartbeat as string,
    node: isStr(v.node) ? v.node : undefined,
  }
}

export function parseRegionRecord(key: string, value: string): RegionRecord | InvalidRecord {
  const {v, invalid} = jsonObject(key, value)
  if (invalid) return invalid
  if (!Array.isArray(v.replicas) || v.replicas.length === 0) return {key, error: 'missing or empty field replicas'}
  const replicas = v.replicas.map(asId)
  if (replicas.some((r) => r === undefined)) return {key, error: 'replicas must be store ids'}
  return {
    id: asId(v.id) ?? key.slice(REGIONS_PREFIX.length),
    replicas: [...new Set(replicas as string[])],
    leader: asId(v.leader),
  }
}

const isInvalid = (r: object): r is InvalidRecord => 'error' in r

function nodeOfStore(ctx: Context, s: StoreRecord): string | null {
  if (s.node) return s.node
  const host = s.address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '')
  return activeNodes(ctx).find((n) => n.address === host)?.name ?? null
}

export interface Placement {
  stores: (StoreRecord & {key: string})[]
  regions: (RegionRecord & {key: string})[]
  invalid: InvalidRecord[]
}

export async function readPlacement(client: ChainfireClient): Promise<Placement> {
  const [s, r] = await Promise.all([client.getPrefix(STORES_PREFIX), client.getPrefix(REGIONS_PREFIX)])
  const out: Placement = {stores: [], regions: [], invalid: []}
  for (const kv of s.kvs) {
    const key = kv.key.toString('utf8')
    const p = parseStoreRecord(key, kv.value.toString('utf8'))
    if (isInvalid(p)) out.invalid.push(p)
    else out.stores.push({...p, key})
  }
  for (const kv of r.kvs) {
    const key = kv.key.toString('utf8')
    const p = parseRegionRecord(key, kv.value.toString('utf8'))
    if (isInvalid(p)) out.invalid.push(p)
    else out.regions.push({...p, key})
  }
  return out
}

function tlsOf(opts: FlaredbOptions) {
  const t = opts.ctx.flaredb?.tls
  if (!t) return undefined
  const p = (x?: string) => (x && opts.loaded ? configPath(opts.loaded, x) : x)
  return {ca: p(t.ca), cert: p(t.cert), key: p(t.key)}
}

async function withClient<T>(opts: FlaredbOptions, fn: (c: ChainfireClient) => Promise<T>): Promise<T> {
  if (opts.client) return fn(opts.client)
  const loaded = opts.loaded ?? ({path: process.cwd() + '/config.yaml'} as LoadedConfig)
  const client = chainfireClientFor(loaded, opts.ctx, {commandTimeoutMs: opts.timeoutMs})
  try {
    return await fn(client)
  } finally {
    client.close()
  }
}

export async function checkFlaredb(opts: FlaredbOptions): Promise<{details: FlaredbHealth; findings: Finding[]}> {
  const heartbeatIntervalMs = parseDuration(
    opts.ctx.flaredb?.['heartbeat-interval'] ?? DEFAULT_HEARTBEAT_MS,
    'flaredb.heartbeat-interval',
  )
  const staleAfterMs = heartbeatIntervalMs * STALE_AFTER_INTERVALS
  // Bounded by the check's timeout: without quorum the read would wait out every endpoint and retry.
  const placement = await withClient(opts, (c) => withDeadline(readPlacement(c), opts.timeoutMs ?? 3000))
  const now = opts.now ?? Date.now()
  const tls = tlsOf(opts)
  const probe = async (endpoint: string) => {
    try {
      const r = await grpcHealthCheck(endpoint, {timeoutMs: opts.timeoutMs ?? 3000, tls})
      return {
        health: r.status,
        error: r.status === 'SERVING' ? null : `health status ${r.status}`,
        latencyMs: r.latencyMs,
      }
    } catch (error) {
      return {
        health: 'UNREACHABLE' as const,
        error: (error as Error).message.replace(`${endpoint}: `, ''),
        latencyMs: null,
      }
    }
  }
  const configured = opts.ctx.flaredb?.stores
  const byAddress = new Map(placement.stores.map((s) => [s.address, s]))
  const [storeProbes, extraProbes] = await Promise.all([
    Promise.all(
      placement.stores.map((s) =>
        configured && !configured.includes(s.address) ? Promise.resolve(undefined) : probe(s.address),
      ),
    ),
    Promise.all(
      (configured ?? [])
        .filter((e) => !byAddress.has(e))
        .map(async (e) => ({endpoint: e, health: (await probe(e)).health})),
    ),
  ])
  const stores: StoreHealth[] = placement.stores
    .map((s, i) => {
      const pr = storeProbes[i]
      const age = now - Date.parse(s.lastHeartbeat)
      const stale = age > staleAfterMs
      return {
        id: s.id,
        key: s.key,
        node: nodeOfStore(opts.ctx, s),
        address: s.address,
        state: s.state,
        lastHeartbeat: s.lastHeartbeat,
        heartbeatAgeMs: age,
        stale,
        health: pr?.health ?? ('NOT_PROBED' as const),
        healthError: pr?.error ?? null,
        latencyMs: pr?.latencyMs ?? null,
        live: s.state === 'up' && !stale && (pr === undefined || pr.health === 'SERVING'),
      }
    })
    .sort((a, b) => compareNatural(a.id, b.id))
  const liveIds = new Set(stores.filter((s) => s.live).map((s) => s.id))
  const regions = placement.regions
    .map((r) => {
      const liveReplicas = r.replicas.filter((id) => liveIds.has(id))
      const lostReplicas = r.replicas.filter((id) => !liveIds.has(id))
      return {
        id: r.id,
        key: r.key,
        replicas: r.replicas,
        liveReplicas,
        lostReplicas,
        status: regionStatus(r.replicas.length, liveReplicas.length),
      }
    })
    .sort((a, b) => compareNatural(a.id, b.id))
  const details: FlaredbHealth = {
    heartbeatIntervalMs,
    staleAfterMs,
    stores,
    regions,
    invalid: placement.invalid.sort((a, b) => compareText(a.key, b.key)),
    unknownEndpoints: extraProbes,
    liveStores: liveIds.size,
    underReplicated: regions.filter((r) => r.status !== 'ok').length,
  }
  return {details, findings: flaredbFindings(details)}
}

/** Fewer than 3 live replicas: warn (data at risk); a majority of the region's replicas lost: crit (no quorum). */
export function regionStatus(replicas: number, live: number): Status {
  if (live < majority(replicas)) return 'crit'
  if (live < MIN_REPLICAS) return 'warn'
  return 'ok'
}

function flaredbFindings(d: FlaredbHealth): Finding[] {
  const f: Finding[] = []
  if (d.stores.length === 0 && d.invalid.length === 0)
    f.push({status: 'crit', message: `no store records under ${STORES_PREFIX} in ChainFire`})
  for (const s of d.stores) {
    const who = `store ${s.id}${s.node ? ` (${s.node}, ${s.address})` : ` (${s.address})`}`
    if (s.state !== 'up')
      f.push({status: 'warn', target: s.node ?? s.address, message: `${who} is ${s.state} according to the PD`})
    if (s.health !== 'SERVING' && s.health !== 'NOT_PROBED')
      f.push({status: 'warn', target: s.node ?? s.address, message: `${who} is down: ${s.healthError}`})
    if (s.stale) {
      f.push({
        status: 'warn',
        target: s.node ?? s.address,
        message: `${who}: heartbeat is stale, last ${formatDuration(s.heartbeatAgeMs ?? 0)} ago (heartbeat every ${formatDuration(d.heartbeatIntervalMs)}, stale after ${formatDuration(d.staleAfterMs)})`,
      })
    }
  }
  for (const r of d.regions) {
    if (r.status === 'crit') {
      f.push({
        status: 'crit',
        target: `region ${r.id}`,
        message: `region ${r.id} lost a majority of its replicas: ${r.liveReplicas.length} of ${r.replicas.length} live (lost: stores ${r.lostReplicas.join(', ')}); it cannot serve writes and data may be lost`,
      })
    } else if (r.status === 'warn') {
      f.push({
        status: 'warn',
        target: `region ${r.id}`,
        message: `region ${r.id} is under-replicated: ${r.liveReplicas.length} live replicas, ${MIN_REPLICAS} needed (lost: stores ${r.lostReplicas.join(', ')})`,
      })
    }
  }
  for (const i of d.invalid) f.push({status: 'warn', target: i.key, message: `invalid record ${i.key}: ${i.error}`})
  for (const e of d.unknownEndpoints)
    f.push({
      status: 'warn',
      target: e.endpoint,
      message: `configured store endpoint ${e.endpoint} has no store record in ChainFire (health ${e.health})`,
    })
  return f.sort((a, b) => (a.status === b.status ? 0 : a.status === 'crit' ? -1 : 1))
}

export function flaredbSummary(d: FlaredbHealth): string {
  return `${d.liveStores}/${d.stores.length} stores live, ${d.regions.length - d.underReplicated}/${d.regions.length} regions fully replicated${d.invalid.length > 0 ? `, ${d.invalid.length} invalid record(s)` : ''}`
}

export function flaredbStatus(findings: Finding[]): Status {
  return worst(findings.map((f) => f.status))
}

export interface FlaredbRemovalCheck {
  node: string
  allowed: boolean
  /** Stores that live on the node. */
  stores: string[]
  /** Regions that would drop below 3 live replicas, with their live count after the removal. */
  blocking: {region: string; liveAfter: number; replicas: string[]}[]
  reasons: string[]
}

/**
 * Node-removal preflight: refuses removing a node whose stores hold a replica of a region that would
 * be left with fewer than 3 live replicas. Read-only; the node-removal engine turns `allowed: false`
 * into a refusal (RefusedError).
 */
export async function flaredbRemovalCheck(
  ctx: Context,
  nodeName: string,
  opts: Omit<FlaredbOptions, 'ctx'> = {},
): Promise<FlaredbRemovalCheck> {
  const node = findNode(ctx, nodeName)
  if (!flaredbConfigured(ctx)) return {node: nodeName, allowed: true, stores: [], blocking: [], reasons: []}
  const {details} = await checkFlaredb({...opts, ctx})
  const onNode = details.stores
    .filter((s) => s.node === node.name || s.address.replace(/:\d+$/, '') === node.address)
    .map((s) => s.id)
  const blocking = details.regions
    .filter((r) => r.replicas.some((id) => onNode.includes(id)))
    .map((r) => ({
      region: r.id,
      liveAfter: r.liveReplicas.filter((id) => !onNode.includes(id)).length,
      replicas: r.replicas,
    }))
    .filter((b) => b.liveAfter < MIN_REPLICAS)
  const reasons = blocking.map(
    (b) =>
      `FlareDB region ${b.region} would have ${b.liveAfter} live replica${b.liveAfter === 1 ? '' : 's'} (replicas on stores ${b.replicas.join(', ')}); FlareDB loses data below ${MIN_REPLICAS}: let FlareDB's placement driver re-replicate it onto a store on another node first (plasmactl flaredb status shows the replicas)`,
  )
  if (details.invalid.length > 0 && onNode.length > 0) {
    reasons.push(
      `${details.invalid.length} FlareDB record(s) in ChainFire are invalid (${details.invalid.map((i) => i.key).join(', ')}): placement cannot be verified`,
    )
  }
  return {node: nodeName, allowed: reasons.length === 0, stores: onNode, blocking, reasons}
}
