import {hostname} from 'node:os'
import type {ChainfireClient} from '../../adapters/chainfire/index.js'
import {RefusedError, UsageError} from '../../errors.js'
import {type HeldLock, LOCK_PREFIX, type LockHolder} from '../lock.js'
import type {Reporter} from '../reporter.js'
import type {Manifest} from './manifest.js'

/**
 * A slot is one period of a schedule: `--slot 1h` cuts time into hours since the epoch (UTC), so
 * every cron host that fires for 09:00 computes the same slot whatever its clock says within the hour.
 */
export interface Slot {
  /** Start of the slot (ISO 8601, UTC): its name. */
  id: string
  endsAt: number
}

export function slotOf(periodMs: number, now = Date.now()): Slot {
  if (!(periodMs >= 60_000))
    throw new UsageError(`--slot must be at least 1m (the period of the schedule, e.g. 1h), not ${periodMs} ms`)
  const start = Math.floor(now / periodMs) * periodMs
  return {id: new Date(start).toISOString(), endsAt: start + periodMs}
}

/** What the save that took a slot recorded (under the lock prefix: never counted as user data, cleared by a restore). */
export interface SlotRecord {
  slot: string
  host: string
  pid: number
  manifest: Manifest
}

export function slotKey(context: string): string {
  return `${LOCK_PREFIX}snapshot-slot/${context}`
}

export async function readSlot(client: ChainfireClient, context: string): Promise<SlotRecord | undefined> {
  const kv = (await client.get(slotKey(context))).kvs[0]
  if (!kv) return undefined
  try {
    return JSON.parse(kv.value.toString('utf8')) as SlotRecord
  } catch {
    return undefined
  }
}

export async function recordSlot(
  client: ChainfireClient,
  context: string,
  slot: Slot,
  manifest: Manifest,
): Promise<void> {
  const record: SlotRecord = {slot: slot.id, host: hostname(), pid: process.pid, manifest}
  await client.put(slotKey(context), JSON.stringify(record))
}

/**
 * Takes the save lock for SLOT with TAKE. A peer saving right now is waited for (until the slot
 * ends); once the lock is ours, `taken` is the peer's record if the slot already has its snapshot.
 * Without ChainFire (no quorum) peers cannot be seen: the save goes on.
 */
export async function lockSlot(
  slot: Slot,
  context: string,
  client: ChainfireClient,
  reporter: Reporter,
  take: () => Promise<HeldLock>,
): Promise<{lock: HeldLock; taken?: SlotRecord}> {
  for (let said = false; ; said = true) {
    let lock: HeldLock
    try {
      lock = await take()
    } catch (error) {
      // Only a peer's save is waited for (a restore, say, is not going to take the slot).
      const by = (error as RefusedError).details?.holder as Partial<LockHolder> | undefined
      if (!(error instanceof RefusedError) || by?.kind !== 'snapshot-save' || Date.now() >= slot.endsAt) throw error
      if (!said)
        reporter.info(`a peer is saving now (${error.message}); waiting to see whether it takes slot ${slot.id}`)
      await new Promise((r) => setTimeout(r, 500))
      continue
    }
    if (!lock.scopes.includes('chainfire')) {
      reporter.warn(`without ChainFire, peers saving slot ${slot.id} cannot be seen: saving anyway`)
      return {lock}
    }
    const record = await readSlot(client, context)
    return record?.slot === slot.id ? {lock, taken: record} : {lock}
  }
}
