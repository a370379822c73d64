import {randomUUID} from 'node:crypto'
import {open, readFile, rm, mkdir} from 'node:fs/promises'
import {hostname} from 'node:os'
import {dirname} from 'node:path'
import type {ChainfireClient} from '../adapters/chainfire/index.js'
import {ChainfireCallError} from '../adapters/chainfire/index.js'
import {RefusedError} from '../errors.js'
import type {Reporter} from './reporter.js'

/** Every lock key plasmactl takes lives under this prefix (snapshots, runbooks, node removal). */
export const LOCK_PREFIX = '/plasmactl/locks/'

export interface LockHolder {
  holder: string
  host: string
  pid: number
  runId: string
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
}

function describe(h: Partial<LockHolder>): string {
  return `${h.holder ?? 'unknown'} (host ${h.host ?? '?'}, pid ${h.pid ?? '?'}, ${h.purpose ?? 'run'} ${h.runId ?? ''}, since ${h.startedAt ?? '?'})`
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** A lock file created with O_EXCL; a file whose process is gone (same host) is stale and taken over. */
export async function acquireLocalLock(path: string, holder: LockHolder): Promise<() => Promise<void>> {
  await mkdir(dirname(path), {recursive: true})
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o644)
      await fh.writeFile(JSON.stringify(holder))
      await fh.close()
      return async () => {
        const cur = await readFile(path, 'utf8').catch(() => '')
        if (cur.includes(`"runId":"${holder.runId}"`)) await rm(path, {force: true})
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      let other: Partial<LockHolder> = {}
      try {
        other = JSON.parse(await readFile(path, 'utf8'))
      } catch {
        // unreadable lock file: treat as held until it is old enough to be judged below
      }
      const stale = other.host === holder.host && typeof other.pid === 'number' && !pidAlive(other.pid)
      if (!stale) throw new RefusedError(`locked by ${describe(other)}`, {file: path, hint: 'another run holds the lock; wait for it to finish'})
      await rm(path, {force: true})
    }
  }
  throw new RefusedError(`could not take the lock file ${path}`)
}

export interface LockOptions {
  client?: ChainfireClient
  /** ChainFire key, e.g. /plasmactl/locks/snapshot/<context>. */
  key: string
  /** Local lock file, used always (same-host overlap) and alone when ChainFire cannot grant a lease. */
  localPath: string
  purpose: string
  ttlSeconds: number
  reporter: Reporter
  runId?: string
}

/**
 * Takes a lease-backed lock key in ChainFire (holds across machines, expires if the holder dies)
 * plus a local lock file. A second holder gets RefusedError "locked by …" (exit 6).
 */
export async function acquireLock(opts: LockOptions): Promise<HeldLock> {
  const holder: LockHolder = {
    holder: `${process.env.USER ?? 'unknown'}@${hostname()}`,
    host: hostname(),
    pid: process.pid,
    runId: opts.runId ?? randomUUID(),
    purpose: opts.purpose,
    startedAt: new Date().toISOString(),
  }
  const releaseLocal = await acquireLocalLock(opts.localPath, holder)
  const scopes = ['local']
  let lease: string | undefined
  let keepalive: {stop: () => void} | undefined
  const held: HeldLock = {
    holder,
    scopes,
    release: async () => {
      keepalive?.stop()
      if (lease && opts.client) {
        await opts.client.deleteIfLease(opts.key, lease).catch(() => undefined)
        await opts.client.leaseRevoke(lease).catch(() => undefined)
      }
      await releaseLocal()
    },
  }
  if (!opts.client) return held
  try {
    const grant = await opts.client.leaseGrant(opts.ttlSeconds)
    lease = grant.id
    const res = await opts.client.putIfAbsent(opts.key, JSON.stringify(holder), lease)
    if (!res.succeeded) {
      let other: Partial<LockHolder> = {}
      try {
        other = JSON.parse(res.kvs[0]?.value.toString('utf8') ?? '{}')
      } catch {
        // foreign value under the lock key: still held
      }
      await opts.client.leaseRevoke(lease).catch(() => undefined)
      lease = undefined
      await releaseLocal()
      throw new RefusedError(`locked by ${describe(other)}`, {
        lockKey: opts.key,
        hint: `a lock held by a process that died expires with its lease (≤ ${opts.ttlSeconds}s)`,
      })
    }
    scopes.unshift('chainfire')
    keepalive = opts.client.keepAlive(lease, opts.ttlSeconds, (reason) => {
      held.lost = reason
      opts.reporter.warn(`lock ${opts.key} lost: ${reason}`)
    })
  } catch (error) {
    if (error instanceof RefusedError) throw error
    // No quorum (or no ChainFire): the local lock still prevents overlap on this machine.
    const why = error instanceof ChainfireCallError ? error.message : (error as Error).message
    opts.reporter.warn(`ChainFire lock unavailable (${why}); holding the local lock ${opts.localPath} only`)
    if (lease) await opts.client.leaseRevoke(lease).catch(() => undefined)
    lease = undefined
  }
  return held
}
