import {appendFile, mkdtemp, rm, stat, writeFile} from 'node:fs/promises'
import {createHash} from 'node:crypto'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {ChainfireClient} from '../../adapters/chainfire/index.js'
import {readChunks} from '../../core/fs.js'
import {findNode, nodeClientUrl, nodesWithRole} from '../../config/context.js'
import type {LoadedConfig} from '../../config/load.js'
import type {Context} from '../../config/schema.js'
import {OperationError} from '../../errors.js'
import {shellQuote} from '../../shell-quote.js'
import type {MemberHealth} from '../health/probes/chainfire.js'
import {Remote} from '../remote.js'
import type {Reporter} from '../reporter.js'
import {DB_PAGE_BYTES, digestFile} from '../snapshot/hash.js'
import {DB_SUFFIX, type Manifest, MANIFEST_FORMAT, MANIFEST_SUFFIX} from '../snapshot/manifest.js'
import {dataDirOf, restoreCluster, type RestoreResult} from '../snapshot/restore.js'
import {streamSnapshot} from '../snapshot/save.js'
import {collectSources, decideSource, type RecoveryDecision, type RecoverySource} from './sources.js'

export interface RecoverOptions {
  loaded: LoadedConfig
  ctx: Context
  client: ChainfireClient
  reporter: Reporter
  version: string
  /** A node name, a snapshot id, "latest" (newest snapshot) or "freshest" / undefined (the default). */
  source?: string
  acceptDataLoss: boolean
  waitMs: number
}

export interface RecoverResult {
  decision: RecoveryDecision
  restore: RestoreResult
  /** Data directories moved aside by the restore: node:path, all still on disk. */
  movedAside: string[]
  /** The transcript lines: the decision, then where the old data is. */
  lines: string[]
}

/** The decision alone, for a dry run: every source is read, nothing is kept or changed. */
export async function planRecovery(
  o: Omit<RecoverOptions, 'waitMs' | 'version' | 'reporter'>,
): Promise<RecoveryDecision> {
  const remote = new Remote(o.loaded, o.ctx)
  try {
    const sources = await collectSources({...o, remote, runTag: `plan-${process.pid}`, keep: false})
    return decideSource(sources, o.source, o.acceptDataLoss)
  } finally {
    await remote.close()
  }
}

/**
 * Quorum-loss recovery from the freshest data (etcd's disaster-recovery procedure): read every
 * source, choose (refusing an older one without acceptDataLoss), turn the chosen source into a
 * verifiable snapshot file, and restore every member from it. A member's data (live, or a stopped
 * member's data dir) becomes a snapshot file too: streamed from the live member, or the probe
 * copy's db sealed with the SHA-256 trailer etcd's restore checks, so the copy to every node is
 * hash-checked end to end like any snapshot. Every member's old data dir is moved aside, never deleted.
 */
export async function recoverCluster(o: RecoverOptions): Promise<RecoverResult> {
  const remote = new Remote(o.loaded, o.ctx)
  const runTag = `${Date.now().toString(36)}-${process.pid}`
  const local = await mkdtemp(join(tmpdir(), 'plasmactl-recover-'))
  let sources: RecoverySource[] = []
  try {
    sources = await collectSources({...o, remote, runTag, keep: true})
    const decision = decideSource(sources, o.source, o.acceptDataLoss)
    for (const l of decision.lines) o.reporter.info(`recovery source: ${l}`)
    const file = await materialize(o, remote, decision, local)
    const restore = await restoreCluster({
      loaded: o.loaded,
      ctx: o.ctx,
      reporter: o.reporter,
      idOrFile: file,
      dryRun: false,
      confirm: async () => true,
      waitMs: o.waitMs,
    })
    const movedAside: string[] = []
    for (const n of nodesWithRole(o.ctx, 'chainfire')) {
      const aside = `${dataDirOf(o.ctx, n)}.before-restore-${restore.runId}`
      const r = await remote.exec(n, `test -e ${shellQuote(aside)}`).catch(() => undefined)
      if (r?.exitCode === 0) movedAside.push(`${n.name}:${aside}`)
    }
    const lines = [
      ...decision.lines,
      `restored every member from ${describeChosen(decision)} (restore run ${restore.runId}, revision ${restore.verified?.revision ?? '?'})`,
      ...(movedAside.length > 0
        ? movedAside.map((p) => `old data kept at ${p}`)
        : ['no member had a data directory to move aside']),
    ]
    return {decision, restore, movedAside, lines}
  } finally {
    await Promise.all(
      sources
        .filter((s) => s.probe?.probeDir)
        .map((s) =>
          remote.exec(findNode(o.ctx, s.node!), `rm -rf ${shellQuote(s.probe!.probeDir!)}`).catch(() => undefined),
        ),
    )
    await rm(local, {recursive: true, force: true})
    await remote.close()
  }
}

function describeChosen(d: RecoveryDecision): string {
  const s = d.chosen
  return s.kind === 'snapshot' ? `snapshot ${s.name}` : `${s.name}'s data`
}

/** The chosen source as something restoreCluster takes: a snapshot id, or a local .db file with a manifest beside it. */
async function materialize(o: RecoverOptions, remote: Remote, d: RecoveryDecision, dir: string): Promise<string> {
  const s = d.chosen
  if (s.kind === 'snapshot') return s.name
  const node = findNode(o.ctx, s.node!)
  const id = `recovery-${s.name}-r${s.revision}`
  const path = join(dir, id + DB_SUFFIX)
  let sourceEndpoint: string
  if (s.kind === 'member') {
    sourceEndpoint = nodeClientUrl(o.ctx, node)
    o.reporter.info(`streaming the data of ${s.name} (revision ${s.revision}) from ${sourceEndpoint}`)
    const streamed = await streamSnapshot(o.client, {name: s.name, endpoint: sourceEndpoint} as MemberHealth, path)
    if (!streamed.digest.trailerOk)
      throw new OperationError(`the data streamed from ${s.name} failed its integrity check`)
    if (streamed.revision !== s.revision)
      throw new OperationError(
        `${s.name} moved from revision ${s.revision} to ${streamed.revision} while it was read: is something writing to it?`,
      )
  } else {
    sourceEndpoint = `${s.name}:${s.probe!.dbPath}`
    o.reporter.info(`copying the database of ${s.name}'s data (revision ${s.revision}) from ${sourceEndpoint}`)
    await remote.download(node, s.probe!.dbPath!, path)
    await seal(path)
  }
  const {sha256, dbSha256, size} = await digestFile(path)
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    name: id,
    context: o.ctx.name,
    clusterId: s.clusterId ?? 'unknown',
    sourceMember: s.name,
    sourceEndpoint,
    revision: s.revision!,
    raftTerm: 0,
    raftIndex: 0,
    keyCount: null,
    size,
    sha256,
    dbSha256,
    createdAt: new Date().toISOString(),
    durationMs: 0,
    plasmactlVersion: o.version,
  }
  await writeFile(join(dir, id + MANIFEST_SUFFIX), JSON.stringify(manifest, null, 2) + '\n', {mode: 0o600})
  return path
}

async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256')
  await readChunks(path, (chunk) => h.update(chunk))
  return h.digest('hex')
}

/** Appends the SHA-256 trailer a streamed snapshot carries (a member's db file has none). */
async function seal(path: string): Promise<void> {
  const {size} = await stat(path)
  if (size === 0 || size % DB_PAGE_BYTES !== 0)
    throw new OperationError(`the copied database is ${size} bytes, not whole ${DB_PAGE_BYTES}-byte pages: truncated?`)
  await appendFile(path, Buffer.from(await sha256Of(path), 'hex'))
}
