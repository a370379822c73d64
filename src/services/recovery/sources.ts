import type {ChainfireClient} from '../../adapters/chainfire/index.js'
import {nodeClientUrl, nodesWithRole} from '../../config/context.js'
import type {LoadedConfig} from '../../config/load.js'
import type {Context} from '../../config/schema.js'
import {RefusedError, UsageError} from '../../errors.js'
import type {Remote} from '../remote.js'
import {listSnapshots} from '../snapshot/index.js'
import {dataDirOf} from '../snapshot/restore.js'
import {type DataDirProbe, probeDataDir} from './probe.js'

export type SourceKind = 'member' | 'data-dir' | 'snapshot'

/** One place the cluster's data could be recovered from, with the revision it holds. */
export interface RecoverySource {
  kind: SourceKind
  /** The name an operator chooses it by (`source=`): the node name, or the snapshot id. */
  name: string
  node?: string
  /** null when the source could not be read (error says why) or holds no data. */
  revision: number | null
  clusterId: string | null
  /** How the revision was read. */
  how: string
  error?: string
  createdAt?: string
  /** data-dir sources read with keep: the probe copy whose db is the restorable database. */
  probe?: DataDirProbe
}

export interface CollectOptions {
  loaded: LoadedConfig
  ctx: Context
  client: ChainfireClient
  remote: Remote
  /** Names the probe copies; with keep, they stay on the nodes for the restore (removed after it). */
  runTag: string
  keep: boolean
}

/**
 * Every candidate source: each member that answers (endpoint status), each other member's data
 * directory read offline over SSH (see probe.ts), and each complete snapshot (revision from its
 * manifest; the restore verifies the one it uses).
 */
export async function collectSources(o: CollectOptions): Promise<RecoverySource[]> {
  const nodes = nodesWithRole(o.ctx, 'chainfire')
  const members = await Promise.all(
    nodes.map(async (n): Promise<RecoverySource> => {
      const url = nodeClientUrl(o.ctx, n)
      try {
        const s = await o.client.status({name: n.name, url}, 2000)
        return {
          kind: 'member',
          name: n.name,
          node: n.name,
          revision: s.header.revision,
          clusterId: s.header.clusterId,
          how: `live member, endpoint status of ${url}`,
        }
      } catch {
        // Not answering: read its data directory instead.
      }
      const dataDir = dataDirOf(o.ctx, n)
      const how = `stopped member, ${n.name}:${dataDir} read by a short-lived etcd on a copy`
      try {
        const p = await probeDataDir(o.remote, n, dataDir, o.runTag, o.keep)
        if (p.empty)
          return {
            kind: 'data-dir',
            name: n.name,
            node: n.name,
            revision: null,
            clusterId: null,
            how,
            error: `no data in ${dataDir}`,
          }
        return {
          kind: 'data-dir',
          name: n.name,
          node: n.name,
          revision: p.revision!,
          clusterId: p.clusterId!,
          how,
          probe: p,
        }
      } catch (error) {
        return {
          kind: 'data-dir',
          name: n.name,
          node: n.name,
          revision: null,
          clusterId: null,
          how,
          error: (error as Error).message,
        }
      }
    }),
  )
  const listing = await listSnapshots({loaded: o.loaded, ctx: o.ctx})
  const snapshots = listing.snapshots
    .filter((e) => e.complete && e.manifest)
    .map((e): RecoverySource => ({
      kind: 'snapshot',
      name: e.id,
      revision: e.manifest!.revision,
      clusterId: e.manifest!.clusterId,
      how: `snapshot in ${e.target} (manifest)`,
      createdAt: e.createdAt,
    }))
  return [...members, ...snapshots]
}

export interface RecoveryDecision {
  sources: RecoverySource[]
  chosen: RecoverySource
  freshest: RecoverySource
  /** Revisions the chosen source is behind the freshest one (0 when it is the freshest). */
  loses: number
  acceptedDataLoss: boolean
  /** The cluster id the members' data carries (null when no member data survives). */
  clusterId: string | null
  /** The decision as the operator reads it: one line per source. */
  lines: string[]
}

const KIND_ORDER: Record<SourceKind, number> = {member: 0, 'data-dir': 1, snapshot: 2}

export function describeSource(s: RecoverySource): string {
  const what =
    s.kind === 'snapshot'
      ? `snapshot ${s.name}`
      : s.kind === 'member'
        ? `${s.name} (live member)`
        : `${s.name} (data dir of the stopped member)`
  return s.revision === null ? `${what}: unusable (${s.error ?? 'no revision'})` : `${what} at revision ${s.revision}`
}

/**
 * Picks the source: the one named by `choice`, else the highest revision (ties: a live member, then
 * a data dir, then a snapshot). Snapshots of another cluster are not candidates. Choosing a source
 * older than the freshest is refused unless acceptDataLoss.
 */
export function decideSource(
  all: RecoverySource[],
  choice: string | undefined,
  acceptDataLoss: boolean,
): RecoveryDecision {
  const memberIds = all.filter((s) => s.kind !== 'snapshot' && s.clusterId).map((s) => s.clusterId!)
  const clusterId = memberIds.length > 0 ? mostCommon(memberIds) : null
  const sources = all.map((s) =>
    s.kind === 'snapshot' && clusterId && s.clusterId !== clusterId && s.revision !== null
      ? {...s, revision: null, error: `taken from cluster ${s.clusterId}, not this cluster (${clusterId})`}
      : s,
  )
  const usable = sources
    .filter((s) => s.revision !== null)
    .sort((a, b) => b.revision! - a.revision! || KIND_ORDER[a.kind] - KIND_ORDER[b.kind])
  if (usable.length === 0) {
    throw new RefusedError(
      `no source to recover from: ${sources.map(describeSource).join('; ') || 'no members and no snapshots'}`,
      {hint: 'take or copy a snapshot into a target (`plasmactl snapshot list`)'},
    )
  }
  const freshest = usable[0]
  let chosen = freshest
  if (choice && choice !== 'freshest') {
    const named =
      choice === 'latest' ? usable.find((s) => s.kind === 'snapshot') : sources.find((s) => s.name === choice)
    if (!named) throw new UsageError(`no recovery source "${choice}": have ${sources.map((s) => s.name).join(', ')}`)
    if (named.revision === null) throw new RefusedError(`source ${describeSource(named)}`)
    chosen = named
  }
  const loses = freshest.revision! - chosen.revision!
  const lines = sources.map((s) => {
    if (s === chosen) return `${describeSource(s)}: CHOSEN${s === freshest ? ' (the freshest)' : ''}`
    if (s.revision === null) return describeSource(s)
    const gap = freshest.revision! - s.revision
    return `${describeSource(s)}${gap > 0 ? ` would lose ${gap} revision${gap === 1 ? '' : 's'}` : ' would lose nothing'}`
  })
  if (loses > 0) {
    const text = `${describeSource(chosen)} is older than ${describeSource(freshest)}: restoring it loses ${loses} revision${loses === 1 ? '' : 's'}`
    if (!acceptDataLoss)
      throw new RefusedError(`${text}; nothing was changed`, {
        hint: 'restore from the freshest source (the default), or pass --accept-data-loss to lose them on purpose',
      })
    lines.push(`--accept-data-loss: ${text}`)
  }
  return {sources, chosen, freshest, loses, acceptedDataLoss: loses > 0, clusterId, lines}
}

function mostCommon(values: string[]): string {
  const counts = new Map<string, number>()
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1)
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0]
}
