import {z} from 'zod'
import type {ChainfireClient} from '../../adapters/chainfire/index.js'
import {UsageError} from '../../errors.js'
import {shellQuote} from '../../shell-quote.js'

/**
 * PlasmaVMC's VM records: one JSON document per VM in ChainFire at /plasmavmc/vms/<id>.
 * docs/plasmavmc-records.md documents the schema. Unknown fields are kept (PlasmaVMC may add some);
 * a record that does not parse is reported by key, never skipped silently and never fatal.
 */
export const VM_PREFIX = '/plasmavmc/vms/'

const ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/

export const vmRecordSchema = z.object({
  id: z.string().regex(ID_RE, 'letters, digits, ".", "_" and "-"'),
  name: z.string().min(1),
  host: z.string().min(1),
  desiredState: z.enum(['running', 'stopped']),
  qmpSocket: z.string().startsWith('/', 'must be an absolute path'),
  startCommand: z.string().min(1),
  pidFile: z.string().startsWith('/', 'must be an absolute path').optional(),
  relocatable: z.boolean().optional(),
  allowedHosts: z.array(z.string().min(1)).optional(),
})

export type VmRecord = z.infer<typeof vmRecordSchema>

export interface StoredVmRecord {
  key: string
  modRevision: number
  record: VmRecord
}

export interface InvalidVmRecord {
  key: string
  error: string
}

export interface VmRecords {
  revision: number
  records: StoredVmRecord[]
  invalid: InvalidVmRecord[]
}

export function vmKey(id: string): string {
  return `${VM_PREFIX}${id}`
}

/** Parses one stored value; returns an error message naming what is wrong instead of throwing. */
export function parseVmRecord(key: string, value: Buffer | string): {record: VmRecord} | {error: string} {
  let raw: unknown
  try {
    raw = JSON.parse(value.toString())
  } catch (error) {
    return {error: `not JSON: ${(error as Error).message}`}
  }
  const r = vmRecordSchema.safeParse(raw)
  if (!r.success) {
    const issues = r.error.issues.map((i) => {
      const path = i.path.join('.')
      const missing = raw && typeof raw === 'object' && i.path.length === 1 && !(String(i.path[0]) in (raw as object))
      return missing ? `missing field "${path}"` : `${path || 'record'}: ${i.message}`
    })
    return {error: issues.join('; ')}
  }
  const id = key.slice(VM_PREFIX.length)
  if (r.data.id !== id) return {error: `id "${r.data.id}" does not match the key (expected "${id}")`}
  return {record: r.data}
}

export async function loadVmRecords(client: ChainfireClient): Promise<VmRecords> {
  const res = await client.getPrefix(VM_PREFIX)
  const records: StoredVmRecord[] = []
  const invalid: InvalidVmRecord[] = []
  for (const kv of res.kvs) {
    const key = kv.key.toString()
    const parsed = parseVmRecord(key, kv.value)
    if ('error' in parsed) invalid.push({key, error: parsed.error})
    else records.push({key, modRevision: kv.modRevision, record: parsed.record})
  }
  return {revision: res.header.revision, records, invalid}
}

export async function loadVmRecord(client: ChainfireClient, id: string): Promise<StoredVmRecord> {
  const key = vmKey(id)
  const res = await client.get(key)
  const kv = res.kvs[0]
  if (!kv) throw new UsageError(`no VM record ${key}`, {hint: 'list VMs with `plasmactl vm list`'})
  const parsed = parseVmRecord(key, kv.value)
  if ('error' in parsed) throw new UsageError(`invalid VM record ${key}: ${parsed.error}`, {key})
  return {key, modRevision: kv.modRevision, record: parsed.record}
}

/** The record's paths and command for the host it runs on: {host} and {id} are substituted. */
export interface ResolvedVm {
  qmpSocket: string
  pidFile?: string
  startCommand: string
}

export function resolveVm(record: VmRecord, host = record.host): ResolvedVm {
  const sub = (s: string, quote = (v: string) => v) =>
    s.replaceAll(/\{(host|id)\}/g, (_m, k: string) => quote(k === 'host' ? host : record.id))
  // The start command runs in a shell: a host name from a record never runs as shell code.
  return {
    qmpSocket: sub(record.qmpSocket),
    pidFile: record.pidFile ? sub(record.pidFile) : undefined,
    startCommand: sub(record.startCommand, shellQuote),
  }
}

/** Whether the record allows running the VM on HOST (a host-failure restart elsewhere). */
export function mayRunOn(record: VmRecord, host: string): boolean {
  if (host === record.host) return true
  if (!record.relocatable) return false
  return !record.allowedHosts || record.allowedHosts.includes(host)
}
