import {type FileHandle, mkdir, open, rm} from 'node:fs/promises'
import {join, resolve} from 'node:path'
import {chainfireClientFor, type ChainfireClient} from '../../adapters/chainfire/index.js'
import type {LoadedConfig} from '../../config/load.js'
import {stateDir} from '../../config/paths.js'
import type {Context} from '../../config/schema.js'
import {OperationError, RefusedError, UsageError} from '../../errors.js'
import {checkChainfire, type MemberHealth} from '../health/probes/chainfire.js'
import {acquireClusterLock, type HeldLock, LOCK_PREFIX} from '../lock.js'
import type {Reporter} from '../reporter.js'
import {type SnapshotDigest, SnapshotHasher} from './hash.js'
import {DB_SUFFIX, type Manifest, MANIFEST_FORMAT, MANIFEST_SUFFIX, partialName, snapshotName} from './manifest.js'
import {lockSlot, recordSlot, type Slot} from './slot.js'
import {FileTarget} from './targets/file.js'
import {openTarget, selectTargets, type SnapshotTarget} from './targets/index.js'
import {compareText} from '../../core/compare.js'
import {Scavenger} from '../../core/scavenge.js'

export interface SaveProgress {
  bytes: number
  total: number
  rateBytesPerSec: number
  etaMs: number | null
}

export interface SaveOptions {
  loaded: LoadedConfig
  ctx: Context
  reporter: Reporter
  version: string
  targets?: string[]
  /** Member name to stream from (default: a caught-up follower, falling back to others). */
  endpoint?: string
  timeoutMs: number
  lock?: boolean
  /** One snapshot per slot across every host saving this context (see slot.ts). */
  slot?: Slot
  onProgress?: (p: SaveProgress) => void
}

export interface TargetOutcome {
  target: string
  ok: boolean
  error?: string
  /** The target was refused by a safety check (a changed host key): exit 6, not 3. */
  refused?: boolean
}

export interface SaveResult {
  name: string
  manifest: Manifest
  targets: TargetOutcome[]
  lock: string[]
  /** Members tried before one streamed a good snapshot. */
  attempts: {member: string; error?: string}[]
  /** With a slot: whether a peer had already taken it (then name and manifest are the peer's). */
  slot?: {id: string; alreadyTaken: boolean; by?: string}
}

/** Source order: healthy caught-up followers (spare the leader), then the leader, then any reachable member. */
export function sourceOrder(members: MemberHealth[], wanted?: string): MemberHealth[] {
  const reachable = members.filter((m) => m.reachable && m.endpoint)
  if (wanted) {
    const m = members.find((x) => x.name === wanted || x.id === wanted || x.endpoint === wanted)
    if (!m) throw new UsageError(`no member "${wanted}" (members: ${members.map((x) => x.name).join(', ')})`)
    return [m, ...reachable.filter((x) => x !== m)]
  }
  const rank = (m: MemberHealth) =>
    m.healthy && !m.leader && !m.learner ? 0 : m.healthy && m.leader ? 1 : m.healthy ? 2 : 3
  return reachable.sort((a, b) => rank(a) - rank(b) || (a.lag ?? 0) - (b.lag ?? 0) || compareText(a.name, b.name))
}

/** Bytes gathered before one write: a snapshot arrives in 32 KiB chunks, written 32 to a system call. */
export const WRITE_BATCH_BYTES = 1 << 20
/** Batches written between two background fdatasyncs: the final fsync then flushes at most this much. */
export const SYNC_EVERY_BATCHES = 32

/**
 * Writes chunks to an open file in batches of WRITE_BATCH_BYTES, one batch being written while the
 * next fills: `add` waits only when a full batch finds the previous one still being written, which
 * is the stream's backpressure. Each chunk is copied into one of two batch buffers made once, so a
 * received chunk is garbage as soon as it is added: kept by reference until its batch was written, a
 * chunk outlived two minor GCs, was promoted to the old generation and held its bytes until the next
 * full GC (the executable's save then peaked at 124–129 MiB instead of 90–94, with the same
 * scavenges; the copy costs ~0.1 s per GiB).
 * Every SYNC_EVERY_BATCHES batches an fdatasync of what is written so far starts beside the stream
 * (never awaited by it), so the disk writes while the stream runs instead of all at the end: the
 * final fsync of a 630 MiB snapshot took 12 ms instead of ~300.
 */
export class BatchedWriter {
  private readonly buffers = [Buffer.allocUnsafeSlow(WRITE_BATCH_BYTES), Buffer.allocUnsafeSlow(WRITE_BATCH_BYTES)]
  private current = 0
  private filled = 0
  private inFlight: Promise<void> = Promise.resolve()
  private syncing: Promise<void> = Promise.resolve()
  private unsynced = 0

  constructor(private readonly fh: FileHandle) {}

  /** Undefined (no await, no microtask) until a batch is full. */
  add(chunk: Buffer): Promise<void> | undefined {
    if (chunk.length < WRITE_BATCH_BYTES - this.filled) {
      this.filled += chunk.copy(this.buffers[this.current], this.filled)
      return undefined
    }
    return this.addFilling(chunk)
  }

  /** A chunk that fills the batch: the batch is written, the rest goes into the next. */
  private async addFilling(chunk: Buffer): Promise<void> {
    let rest = chunk
    while (rest.length >= WRITE_BATCH_BYTES - this.filled) {
      const room = WRITE_BATCH_BYTES - this.filled
      this.filled += rest.copy(this.buffers[this.current], this.filled, 0, room)
      rest = rest.subarray(room)
      await this.flush()
    }
    this.filled += rest.copy(this.buffers[this.current], this.filled)
  }

  /** Starts writing what is gathered once the previous write is done; rejects with a failed write. */
  async flush(): Promise<void> {
    await this.inFlight
    if (this.filled === 0) return
    const batch = this.buffers[this.current].subarray(0, this.filled)
    // The other buffer's write is done (awaited above): it takes the next chunks.
    this.current = 1 - this.current
    this.filled = 0
    // Awaited by the next flush or by end(): a failure surfaces there, never unhandled.
    const written = writeAll(this.fh, [batch])
    this.inFlight = written
    written.catch(() => undefined)
    if (++this.unsynced < SYNC_EVERY_BATCHES) return
    this.unsynced = 0
    // One sync at a time, each after the write before it; a failure surfaces at end().
    this.syncing = Promise.all([this.syncing, written]).then(() => this.fh.datasync())
    this.syncing.catch(() => undefined)
  }

  /** Writes the rest, then fsyncs the file. */
  async end(): Promise<void> {
    await this.flush()
    await this.inFlight
    await this.syncing
    await this.fh.sync()
  }

  /** Waits for a write or sync still running (before the file is closed after a failure). */
  async settle(): Promise<void> {
    await Promise.all([this.inFlight.catch(() => undefined), this.syncing.catch(() => undefined)])
  }
}

/** writev until every byte is written (a regular file may take fewer bytes than asked). */
async function writeAll(fh: FileHandle, bufs: Buffer[]): Promise<void> {
  let left = bufs
  while (left.length > 0) {
    const {bytesWritten} = await fh.writev(left)
    let skip = bytesWritten
    while (left.length > 0 && skip >= left[0].length) {
      skip -= left[0].length
      left = left.slice(1)
    }
    if (skip > 0) left = [left[0].subarray(skip), ...left.slice(1)]
  }
}

interface Streamed {
  digest: SnapshotDigest
  /** The member's revision and live key count just before the stream opened. */
  revision: number
  keyCount: number | null
  /** Revision seen right after the first chunk: equal to revision unless writes raced the snapshot. */
  revisionAfter: number
  /** HashKV at revision, asked for while the snapshot streams (when asked for). */
  hashKV?: Promise<Manifest['hashKV']>
}

/**
 * Received bytes between two scavenges (see Scavenger): 32 chunks of 32 KiB. Peak RSS of the
 * executable saving 630 MiB, by period: 512 KiB 96–111 MiB (what gRPC holds a little longer is then
 * promoted), 1 MiB 90–94, 2 MiB 93–99, 4 MiB 100–103.
 */
const SCAVENGE_EVERY_BYTES = 1 << 20

/** Streams one member's snapshot to path with backpressure, hashing as it goes. */
export async function streamSnapshot(
  client: ChainfireClient,
  m: MemberHealth,
  path: string,
  onProgress?: (p: SaveProgress) => void,
  options: {hashKV?: boolean} = {},
): Promise<Streamed> {
  const hasher = new SnapshotHasher()
  const started = performance.now()
  let total = 0
  let lastReport = 0
  const endpoint = {name: m.name, url: m.endpoint!}
  // etcd 3.4 leaves the snapshot stream's header empty: bracket the snapshot with local reads.
  const before = await client.keyCount(endpoint, LOCK_PREFIX)
  let hashKV: Promise<Manifest['hashKV']> | undefined
  let after: Promise<{revision: number}> | undefined
  const scavenger = new Scavenger(SCAVENGE_EVERY_BYTES)
  const fh = await open(path, 'wx', 0o600)
  const call = client.snapshot(endpoint)
  const out = new BatchedWriter(fh)
  try {
    for await (const chunk of call as AsyncIterable<{revision: number; remaining: number; blob: Buffer}>) {
      if (total === 0) {
        total = chunk.remaining + chunk.blob.length
        after = client.keyCount(endpoint, LOCK_PREFIX).catch(() => ({revision: -1}))
        // HashKV runs beside the stream once the member's snapshot is open. Asked just before it, the
        // member started the snapshot only after hashing the whole keyspace: the first chunk came
        // 250–450 ms late on a 512 MiB database (5 ms without HashKV).
        if (options.hashKV) hashKV = savedHashKV(client, m, before.revision)
      }
      hasher.update(chunk.blob)
      scavenger.passed(chunk.blob.length)
      const now = performance.now()
      if (onProgress && (now - lastReport > 200 || chunk.remaining === 0)) {
        lastReport = now
        const rate = hasher.bytes / Math.max(0.001, (now - started) / 1000)
        onProgress({
          bytes: hasher.bytes,
          total,
          rateBytesPerSec: rate,
          etaMs: rate > 0 ? ((total - hasher.bytes) / rate) * 1000 : null,
        })
      }
      const full = out.add(chunk.blob)
      if (full) await full
    }
    await out.end()
  } catch (error) {
    call.cancel()
    throw error
  } finally {
    await out.settle()
    await fh.close()
  }
  const revisionAfter = (await after)?.revision ?? -1
  return {
    digest: hasher.digest(),
    revision: before.revision,
    keyCount: revisionAfter === before.revision ? before.count : null,
    revisionAfter,
    hashKV,
  }
}

/**
 * HashKV of the source member at the saved revision: what a restore of this snapshot must reproduce
 * (checked by the restore rehearsal even after the live cluster compacted past it). Undefined when
 * the member does not answer or has compacted past the revision: the manifest then goes without.
 */
async function savedHashKV(client: ChainfireClient, m: MemberHealth, revision: number): Promise<Manifest['hashKV']> {
  try {
    const r = await client.hashKV({name: m.name, url: m.endpoint!}, revision)
    return {hash: r.hash, compactRevision: r.compactRevision, revision}
  } catch {
    return undefined
  }
}

export async function saveSnapshot(opts: SaveOptions): Promise<SaveResult> {
  const specs = selectTargets(opts.ctx, opts.targets)
  const client = chainfireClientFor(opts.loaded, opts.ctx)
  const targets: SnapshotTarget[] = []
  let lock: HeldLock | undefined
  let staged: string | undefined
  try {
    for (const s of specs) targets.push(await openTarget(s, opts.loaded, opts.ctx))
    const {details} = await checkChainfire(client, opts.ctx, opts.timeoutMs)
    const order = sourceOrder(details.members, opts.endpoint)
    if (order.length === 0)
      throw new OperationError('no ChainFire member is reachable: nothing to snapshot', {
        hint: 'run `plasmactl health`',
      })
    if (!details.quorum)
      opts.reporter.warn('the cluster has no quorum; snapshotting a reachable member anyway (its data may be behind)')

    const take = () =>
      acquireClusterLock(opts.ctx, {
        kind: 'snapshot-save',
        purpose: 'snapshot save',
        client: details.quorum ? client : undefined,
        reporter: opts.reporter,
      })
    if (opts.slot) {
      const got = await lockSlot(opts.slot, opts.ctx.name, client, opts.reporter, take)
      lock = got.lock
      if (got.taken) {
        opts.reporter.info(
          `snapshot ${got.taken.manifest.name} already taken for this slot (${opts.slot.id}) by ${got.taken.host}`,
        )
        return {
          name: got.taken.manifest.name,
          manifest: got.taken.manifest,
          targets: [],
          lock: lock.scopes,
          attempts: [],
          slot: {id: opts.slot.id, alreadyTaken: true, by: got.taken.host},
        }
      }
    } else if (opts.lock !== false) lock = await take()

    // Stage next to the first file target so the final step is a rename on the same filesystem.
    const fileTarget = targets.find((t): t is FileTarget => t instanceof FileTarget)
    const stageDir = fileTarget?.dir ?? join(stateDir(), 'staging')
    await mkdir(stageDir, {recursive: true})
    if (fileTarget) await fileTarget.cleanPartials()

    const attempts: {member: string; error?: string}[] = []
    let result: (Streamed & {member: MemberHealth; durationMs: number}) | undefined
    for (const m of order) {
      staged = join(stageDir, partialName('snapshot'))
      const t0 = performance.now()
      try {
        opts.reporter.debug(`streaming snapshot from ${m.name} (${m.endpoint})`)
        const s = await streamSnapshot(client, m, staged, opts.onProgress, {hashKV: true})
        if (!s.digest.trailerOk)
          throw new OperationError(
            `snapshot from ${m.name} failed its integrity check (trailer sha256 mismatch, ${s.digest.size} bytes)`,
          )
        result = {...s, member: m, durationMs: Math.round(performance.now() - t0)}
        attempts.push({member: m.name})
        break
      } catch (error) {
        attempts.push({member: m.name, error: (error as Error).message})
        opts.reporter.warn(`snapshot from ${m.name} failed: ${(error as Error).message}; trying the next member`)
        await rm(staged, {force: true})
        staged = undefined
      }
    }
    if (!result || !staged)
      throw new OperationError(
        `every member failed to stream a snapshot: ${attempts.map((a) => `${a.member}: ${a.error}`).join('; ')}`,
      )
    if (lock?.lost) throw new OperationError(`lost the snapshot lock during the save (${lock.lost}); not publishing`)

    const keyCount = result.keyCount
    if (result.revisionAfter !== result.revision)
      opts.reporter.debug(`writes raced the snapshot: revision between ${result.revision} and ${result.revisionAfter}`)
    const hashKV = await result.hashKV
    const createdAt = new Date()
    const name = snapshotName(opts.ctx.name, createdAt, result.revision)
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      name,
      context: opts.ctx.name,
      clusterId: details.clusterId ?? 'unknown',
      sourceMember: result.member.name,
      sourceEndpoint: result.member.endpoint!,
      revision: result.revision,
      raftTerm: result.member.raftTerm ?? 0,
      raftIndex: result.member.raftIndex ?? 0,
      keyCount,
      size: result.digest.size,
      sha256: result.digest.sha256,
      dbSha256: result.digest.dbSha256,
      createdAt: createdAt.toISOString(),
      durationMs: result.durationMs,
      plasmactlVersion: opts.version,
      ...(hashKV ? {hashKV} : {}),
    }
    // The data object goes first and the manifest last: a snapshot is listed only once both exist.
    const ordered = [...targets].sort(
      (a, b) =>
        Number(a === fileTarget && resolve(fileTarget.dir) === resolve(stageDir)) -
        Number(b === fileTarget && resolve(fileTarget.dir) === resolve(stageDir)),
    )
    const outcomes: TargetOutcome[] = []
    for (const t of ordered) {
      try {
        await t.upload(staged, name + DB_SUFFIX, {size: manifest.size, sha256: manifest.sha256})
        await t.writeText(name + MANIFEST_SUFFIX, JSON.stringify(manifest, null, 2) + '\n')
        outcomes.push({target: t.url, ok: true})
      } catch (error) {
        outcomes.push({
          target: t.url,
          ok: false,
          error: (error as Error).message,
          ...(error instanceof RefusedError ? {refused: true} : {}),
        })
        opts.reporter.warn(`target ${t.url}: ${(error as Error).message}`)
      }
    }
    // Report in the configured order, whatever order the uploads ran in.
    const inOrder = targets.map((t) => outcomes.find((o) => o.target === t.url)!)
    // Peers of this slot skip it only once the snapshot is on every target (recorded under the lock).
    if (opts.slot && lock?.scopes.includes('chainfire') && outcomes.every((o) => o.ok))
      await recordSlot(client, opts.ctx.name, opts.slot, manifest)
    return {
      name,
      manifest,
      targets: inOrder,
      lock: lock?.scopes ?? [],
      attempts,
      ...(opts.slot ? {slot: {id: opts.slot.id, alreadyTaken: false}} : {}),
    }
  } finally {
    if (staged) await rm(staged, {force: true})
    await lock?.release().catch(() => undefined)
    for (const t of targets) await t.close().catch(() => undefined)
    client.close()
  }
}
