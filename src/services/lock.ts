import {createHash, randomBytes, randomUUID} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {link, mkdir, readFile, rename, rm, stat, writeFile} from 'node:fs/promises'
import {hostname} from 'node:os'
import {dirname, join} from 'node:path'
import type {ChainfireClient} from '../adapters/chainfire/index.js'
import {ChainfireCallError} from '../adapters/chainfire/index.js'
import {parseDuration} from '../config/duration.js'
import {stateDir} from '../config/paths.js'
import {chainfireEndpoints} from '../config/context.js'
import type {Context} from '../config/schema.js'
import {operatorName} from '../core/engine/journal.js'
import {OperationError, RefusedError} from '../errors.js'
import type {Reporter} from './reporter.js'

/** Every lock key plasmactl takes lives under this prefix (snapshots, runbooks, node removal). */
export const LOCK_PREFIX = '/plasmactl/locks/'

/**
 * The one lock of every command that changes a cluster: runbooks, node remove/add/replace, snapshot
 * restore. One ChainFire holds one cluster, so the key does not name the context.
 */
export const CLUSTER_LOCK_KEY = `${LOCK_PREFIX}cluster`

export function snapshotLockKey(context: string): string {
  return `${LOCK_PREFIX}snapshot/${context}`
}

/**
 * What takes the lock. A save only reads the cluster: it excludes other saves and restores (a save
 * during a restore would publish the data being replaced), not runbooks or node operations.
 */
export type LockKind = 'runbook' | 'node' | 'restore' | 'snapshot-save' | 'drill' | 'vm' | 'leader'

export interface LockHolder {
  /** user@host */
  holder: string
  /** The operating-system user name of the holder. */
  user?: string
  host: string
  pid: number
  /** The holder process's start time (Linux clock ticks since boot), so a reused pid is not taken for the holder. */
  pidStart?: string
  runId: string
  kind?: LockKind
  purpose: string
  startedAt: string
}

export interface HeldLock {
  holder: LockHolder
  /** Where the lock is held: "chainfire" (lease-backed key) and/or "local" (lock file). */
  scopes: string[]
  /** Set when the lease could not be refreshed: the holder must stop mutating. */
  lost?: string
  release(): Promise<void>
  /**
   * Runs FN when a signal (Ctrl-C, SIGTERM, SIGHUP) ends the holder, before the lock is given back
   * (bounded): a run records where it stopped. Returns the function that removes FN.
   */
  onSignal(fn: (sig: NodeJS.Signals) => Promise<void>): () => void
}

export {operatorName}

export function describeHolder(h: Partial<LockHolder>): string {
  const who = h.user && h.host ? `${h.user}@${h.host}` : (h.holder ?? 'unknown')
  return `${who} (host ${h.host ?? '?'}, pid ${h.pid ?? '?'}, ${h.purpose ?? 'run'}${h.runId ? ` run ${h.runId}` : ''}, since ${h.startedAt ?? '?'})`
}

function parseHolder(text: string): Partial<LockHolder> | undefined {
  try {
    const v = JSON.parse(text) as unknown
    return v && typeof v === 'object' ? (v as Partial<LockHolder>) : undefined
  } catch {
    return undefined
  }
}

/** Start time of PID (field 22 of /proc/PID/stat), or undefined where there is no /proc. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

/** Whether a process of this machine still runs as PID (and, when START is known, is the same process). */
export function processAlive(pid: number, start?: string): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  const now = start ? processStart(pid) : undefined
  return !(start && now && now !== start)
}

/** The parent of PID (field 4 of /proc/PID/stat), or undefined where there is no /proc. */
function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    return ppid > 1 ? ppid : undefined
  } catch {
    return undefined
  }
}

/**
 * Held by this very process (a runbook's restore action inside the run that holds the lock) or by
 * one of its ancestors (a runbook `local` step running `plasmactl vm restart`): the step is part of
 * the run that holds the lock, which releases it.
 */
function ownProcess(h: Partial<LockHolder> | undefined): boolean {
  if (h?.host !== hostname() || typeof h.pid !== 'number') return false
  for (let pid: number | undefined = process.pid, depth = 0; pid && depth < 32; pid = parentPid(pid), depth++)
    if (pid === h.pid) return pid === process.pid || processAlive(pid, h.pidStart)
  return false
}

/** A lock file's holder is gone: it is on this host and its process is dead, or the file holds no holder at all. */
function staleHolder(other: Partial<LockHolder> | undefined): boolean {
  // Lock files are created complete (written aside, then linked into place): an empty or garbled one
  // was never a lock of a live run (a full disk, a crash of an old version).
  if (!other || typeof other.pid !== 'number') return true
  return other.host === hostname() && !processAlive(other.pid, other.pidStart)
}

function heldByThisProcess(file: string): boolean {
  try {
    const h = parseHolder(readFileSync(file, 'utf8'))
    return h?.host === hostname() && h.pid === process.pid
  } catch {
    return false
  }
}

/** Creates PATH holding CONTENT atomically: it either does not appear or appears complete. false when it exists. */
async function createComplete(path: string, content: string): Promise<boolean> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  try {
    await writeFile(tmp, content, {mode: 0o644, flag: 'wx'})
    await link(tmp, path)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw new OperationError(`cannot write the lock file ${path}: ${(error as Error).message}`, {file: path})
  } finally {
    await rm(tmp, {force: true})
  }
}

/** Removes PATH only if it is still the file (inode) judged stale, never a lock taken meanwhile. */
async function breakStale(path: string, ino: number): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    await rename(path, aside)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return
    throw error
  }
  const s = await stat(aside)
  // Someone replaced the stale file with a live lock between our look and the rename: put it back.
  if (s.ino !== ino) await link(aside, path).catch(() => undefined)
  await rm(aside, {force: true})
}

/**
 * A lock file on this machine. Created complete or not at all; a file whose process is gone (same
 * host, pid dead or reused) or that holds no holder (empty after a full disk) is stale and taken over.
 */
export async function acquireLocalLock(path: string, holder: LockHolder): Promise<() => Promise<void>> {
  await mkdir(dirname(path), {recursive: true})
  const content = JSON.stringify(holder)
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await createComplete(path, content)) {
      return async () => {
        const cur = await readFile(path, 'utf8').catch(() => '')
        if (cur === content) await rm(path, {force: true})
      }
    }
    let text: string
    let ino: number
    try {
      ;[text, ino] = await Promise.all([readFile(path, 'utf8'), stat(path).then((s) => s.ino)])
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw new RefusedError(`cannot read the lock file ${path}: ${(error as Error).message}`, {
        file: path,
        hint: 'check its owner and mode; remove it if no plasmactl run is active',
      })
    }
    const other = parseHolder(text)
    // Nested in a run of this process that holds it: the outer run releases it.
    if (ownProcess(other)) return async () => {}
    if (!staleHolder(other))
      throw new RefusedError(`locked by ${describeHolder(other!)}`, {
        file: path,
        holder: other,
        hint: 'another run holds the lock; wait for it to finish',
      })
    await breakStale(path, ino)
  }
  throw new RefusedError(`could not take the lock file ${path}: it keeps changing`, {file: path})
}

const RELEASE_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/**
 * Until the returned function is called, SIGINT/SIGTERM/SIGHUP first run the holder's HOOKS (a run
 * journals where it stopped), then RELEASE (each bounded), then end
 * the process by the same signal (a shell sees 130 after Ctrl-C), so no lease outlives its holder.
 */
function releaseOnSignal(release: () => Promise<void>, hooks: Set<(sig: NodeJS.Signals) => Promise<void>>): () => void {
  const handler = (sig: NodeJS.Signals) => {
    for (const s of RELEASE_SIGNALS) process.removeListener(s, handler)
    const bounded = (p: Promise<unknown>, ms: number) =>
      Promise.race([p.catch(() => undefined), new Promise((r) => setTimeout(r, ms).unref())])
    void bounded(Promise.all([...hooks].map((h) => h(sig))), 5000)
      .then(() => bounded(release(), 3000))
      .finally(() => {
        process.kill(process.pid, sig)
        // A listener that ignores SIG would keep the default action from running: end as SIG would have.
        setTimeout(() => {
          process.removeAllListeners(sig)
          process.kill(process.pid, sig)
        }, 1000)
      })
  }
  for (const s of RELEASE_SIGNALS) process.on(s, handler)
  return () => {
    for (const s of RELEASE_SIGNALS) process.removeListener(s, handler)
  }
}

export interface LockOptions {
  client?: ChainfireClient
  /** ChainFire keys (one lease holds them all) and the local lock file of each. */
  keys: {key: string; file: string}[]
  holder: LockHolder
  ttlSeconds: number
  reporter: Reporter
  /** The holder expects its lease to vanish (a restore replaces the data it lives in): no warning. */
  lossExpected?: boolean
}

function refusedBy(key: string, value: string | undefined, ttlSeconds: number): RefusedError {
  const holder = parseHolder(value ?? '') ?? {holder: `an unreadable value under ${key}`}
  return new RefusedError(`locked by ${describeHolder(holder)}`, {
    lockKey: key,
    holder,
    hint: `a lock held by a process that died expires with its lease (≤ ${ttlSeconds}s); one left by a killed run is taken over by resuming that run`,
  })
}

/**
 * Takes lease-backed lock keys in ChainFire (they hold across machines and expire if the holder
 * dies) plus a local lock file each (same machine, and alone when ChainFire has no quorum). A second
 * holder gets RefusedError "locked by …" (exit 6).
 */
export async function acquireLock(opts: LockOptions): Promise<HeldLock> {
  const {client, holder} = opts
  // Nested in a run of this very process (node remove moving leadership): the outer run holds every
  // key, gives them back, and handles signals; a second lease and signal handler would race it.
  if (opts.keys.length > 0 && opts.keys.every((k) => heldByThisProcess(k.file)))
    return {holder, scopes: ['nested'], release: async () => {}, onSignal: () => () => undefined}
  const localReleases: (() => Promise<void>)[] = []
  const releaseLocal = async () => {
    for (const r of localReleases.splice(0).reverse()) await r().catch(() => undefined)
  }
  try {
    for (const k of opts.keys) localReleases.push(await acquireLocalLock(k.file, holder))
  } catch (error) {
    await releaseLocal()
    throw error
  }
  const scopes = ['local']
  let lease: string | undefined
  let keepalive: {stop: () => void} | undefined
  let released: Promise<void> | undefined
  const signalHooks = new Set<(sig: NodeJS.Signals) => Promise<void>>()
  const dropLease = async () => {
    keepalive?.stop()
    const l = lease
    lease = undefined
    if (!l || !client) return
    for (const k of opts.keys) await client.deleteIfLease(k.key, l).catch(() => undefined)
    await client.leaseRevoke(l).catch(() => undefined)
  }
  const held: HeldLock = {
    holder,
    scopes,
    release: () => {
      released ??= (async () => {
        stopSignals()
        await dropLease()
        await releaseLocal()
      })()
      return released
    },
    onSignal: (fn) => {
      signalHooks.add(fn)
      return () => signalHooks.delete(fn)
    },
  }
  const stopSignals = releaseOnSignal(held.release, signalHooks)
  if (!client) return held
  try {
    lease = (await client.leaseGrant(opts.ttlSeconds)).id
    for (const k of opts.keys) {
      const res = await client.putIfAbsent(k.key, JSON.stringify(holder), lease)
      // A key this process holds already (nested run) stays bound to the outer run's lease.
      if (!res.succeeded && !ownProcess(parseHolder(res.kvs[0]?.value.toString('utf8') ?? '')))
        throw refusedBy(k.key, res.kvs[0]?.value.toString('utf8'), opts.ttlSeconds)
    }
    scopes.unshift('chainfire')
    keepalive = client.keepAlive(lease, opts.ttlSeconds, (reason) => {
      held.lost = reason
      if (opts.lossExpected) opts.reporter.debug(`lock lease ended: ${reason}`)
      else opts.reporter.warn(`lock ${opts.keys.map((k) => k.key).join(', ')} lost: ${reason}`)
    })
  } catch (error) {
    if (error instanceof RefusedError) {
      await held.release()
      throw error
    }
    // No quorum (or no ChainFire): the local lock still prevents overlap on this machine.
    const why = error instanceof ChainfireCallError ? error.message : (error as Error).message
    opts.reporter.warn(
      `ChainFire lock unavailable (${why}); holding the local lock ${opts.keys.map((k) => k.file).join(', ')} only`,
    )
    await dropLease()
  }
  return held
}

/** Lease TTL of the lock of KIND in CTX: chainfire.lock-ttl (snapshots.lock-ttl for a save), default 15s. */
export function lockTtlSeconds(ctx: Context, kind: LockKind = 'node'): number {
  const [value, where] =
    kind === 'snapshot-save'
      ? [ctx.snapshots?.['lock-ttl'], 'snapshots.lock-ttl']
      : [ctx.chainfire?.['lock-ttl'], 'chainfire.lock-ttl']
  return Math.max(1, Math.ceil(parseDuration(value ?? '15s', where) / 1000))
}

/**
 * The local lock files name the context and the cluster it points at (a hash of its ChainFire
 * endpoints): two clusters that share a context name in different config files (two labs, a staging
 * copy) never block each other, and every config that names the same endpoints shares one file.
 */
function localLockTag(ctx: Context): string {
  let urls: string[] = []
  try {
    urls = chainfireEndpoints(ctx)
      .map((e) => e.url)
      .sort()
  } catch {
    // No ChainFire in this context: the context name alone.
  }
  return urls.length === 0
    ? ctx.name
    : `${ctx.name}-${createHash('sha256').update(urls.join(',')).digest('hex').slice(0, 12)}`
}

/** The lock keys (and local lock files) a command of KIND takes in context CTX. */
export function lockKeys(ctx: Context, kind: LockKind): {key: string; file: string}[] {
  const dir = join(stateDir(), 'locks')
  const tag = localLockTag(ctx)
  const cluster = {key: CLUSTER_LOCK_KEY, file: join(dir, `cluster-${tag}.lock`)}
  const snapshot = {key: snapshotLockKey(ctx.name), file: join(dir, `snapshot-${tag}.lock`)}
  if (kind === 'snapshot-save') return [snapshot]
  if (kind === 'restore') return [cluster, snapshot]
  return [cluster]
}

export interface ClusterLockOptions {
  kind: LockKind
  /** What the run does, shown to anyone refused ("runbook restart-node", "node remove n2"). */
  purpose: string
  runId?: string
  /** Omitted (or failing: no quorum): only the local lock file is held. */
  client?: ChainfireClient
  reporter: Reporter
  /** Lease TTL; default lockTtlSeconds(ctx, kind). */
  ttlSeconds?: number
  /** Resuming RUN_ID: a lock still held in its name by a runner of this host that is gone is taken over. */
  resume?: boolean
  /** --force-unlock: asked with the current holder; true removes that lock first. */
  forceUnlock?: (holder: string) => Promise<boolean>
}

/**
 * THE lock of every command that changes a cluster (and of snapshot saves, see LockKind). A second
 * one exits 6 naming the holder; Ctrl-C and SIGTERM give the lease back before the process ends.
 */
export async function acquireClusterLock(ctx: Context, o: ClusterLockOptions): Promise<HeldLock> {
  const keys = lockKeys(ctx, o.kind)
  const user = operatorName()
  const holder: LockHolder = {
    holder: `${user}@${hostname()}`,
    user,
    host: hostname(),
    pid: process.pid,
    pidStart: processStart(process.pid),
    runId: o.runId ?? randomUUID(),
    kind: o.kind,
    purpose: o.purpose,
    startedAt: new Date().toISOString(),
  }
  if (o.forceUnlock) await forceUnlock(keys, o.client, o.forceUnlock, o.reporter)
  if (o.resume && o.client) for (const k of keys) await takeOverOwnLock(o.client, k.key, holder.runId, o.reporter)
  return acquireLock({
    client: o.client,
    keys,
    holder,
    ttlSeconds: o.ttlSeconds ?? lockTtlSeconds(ctx, o.kind),
    reporter: o.reporter,
    lossExpected: o.kind === 'restore',
  })
}

/**
 * Runs FN holding the cluster lock: a change that keeps no run journal of its own (vm restart,
 * evacuate, reconcile-orphans, chainfire move-leader) still excludes every other change. A held lock
 * refuses (exit 6) naming the holder; the lock is given back when FN ends, or on a signal.
 */
export async function withClusterLock<T>(ctx: Context, o: ClusterLockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireClusterLock(ctx, o)
  try {
    return await fn()
  } finally {
    await lock.release()
  }
}

/** The holder of a lock key, or null when it is free. */
export async function readLockHolder(
  client: ChainfireClient,
  key: string = CLUSTER_LOCK_KEY,
): Promise<Partial<LockHolder> | null> {
  const kv = (await client.get(key)).kvs[0]
  if (!kv) return null
  return parseHolder(kv.value.toString('utf8')) ?? {holder: `unparseable value under ${key}`}
}

/** On resume, the lock left by this same run's dead runner (same host, process gone) is taken over instead of waiting for its lease. */
async function takeOverOwnLock(client: ChainfireClient, key: string, runId: string, reporter: Reporter): Promise<void> {
  const h = await readLockHolder(client, key).catch(() => null)
  if (!h || h.runId !== runId || h.host !== hostname() || typeof h.pid !== 'number' || processAlive(h.pid, h.pidStart))
    return
  await client.deleteKey(key)
  reporter.info(`took over the lock of run ${runId} (its runner, pid ${h.pid}, is gone)`)
}

async function forceUnlock(
  keys: {key: string; file: string}[],
  client: ChainfireClient | undefined,
  confirm: (holder: string) => Promise<boolean>,
  reporter: Reporter,
): Promise<void> {
  const holders: string[] = []
  for (const k of keys) {
    const h =
      (client ? await readLockHolder(client, k.key).catch(() => null) : null) ??
      parseHolder(await readFile(k.file, 'utf8').catch(() => ''))
    if (h) holders.push(describeHolder(h))
  }
  const described = holders.join('; ') || '(nobody holds it now)'
  if (!(await confirm(described))) throw new RefusedError('force-unlock not confirmed')
  for (const k of keys) {
    if (client) await client.deleteKey(k.key).catch(() => undefined)
    await rm(k.file, {force: true})
  }
  reporter.warn(`removed the cluster lock (was: ${described})`)
}

/**
 * After a restore: lock keys that came back with the snapshot belong to runs of the past (taken
 * before SINCE, the restore's own start); left in place they refuse the next command until their
 * restored leases run out. Locks taken since then are left alone. Returns "key (holder)" of each removed.
 */
export async function clearRestoredLocks(client: ChainfireClient, since: string): Promise<string[]> {
  const cleared: string[] = []
  for (const kv of (await client.getPrefix(LOCK_PREFIX)).kvs) {
    const key = kv.key.toString('utf8')
    const h = parseHolder(kv.value.toString('utf8'))
    if (h?.startedAt && h.startedAt >= since) continue
    await client.deleteKey(key)
    cleared.push(`${key} (${h ? describeHolder(h) : kv.value.toString('utf8')})`)
  }
  return cleared
}
