import {randomBytes} from 'node:crypto'
import {hostname} from 'node:os'
import type {manifestSchema} from './manifest-schema.js'

export const MANIFEST_FORMAT = 'plasmactl-snapshot/v1'

export type Manifest = import('zod').infer<typeof manifestSchema>

const HEX64 = /^[0-9a-f]{64}$/
const isNumber = (v: unknown) => typeof v === 'number' && Number.isFinite(v)
/**
 * What the zod schema (manifest-schema.ts) accepts, checked without loading zod: health and
 * `snapshot list` read every manifest, and zod's start-up is a fifth of a cold `health`. A manifest
 * this rejects goes to zod for the precise error; test/unit/manifest.test.ts holds the two to the
 * same answers, field by field.
 */
export const MANIFEST_FIELDS: Record<keyof Manifest, (v: unknown) => boolean> = {
  format: (v) => v === MANIFEST_FORMAT,
  name: (v) => typeof v === 'string',
  context: (v) => typeof v === 'string',
  clusterId: (v) => typeof v === 'string',
  sourceMember: (v) => typeof v === 'string',
  sourceEndpoint: (v) => typeof v === 'string',
  revision: isNumber,
  raftTerm: isNumber,
  raftIndex: isNumber,
  keyCount: (v) => v === null || isNumber(v),
  size: isNumber,
  sha256: (v) => typeof v === 'string' && HEX64.test(v),
  dbSha256: (v) => typeof v === 'string' && HEX64.test(v),
  createdAt: (v) => typeof v === 'string',
  durationMs: isNumber,
  plasmactlVersion: (v) => typeof v === 'string',
  hashKV: (v) =>
    v === undefined ||
    (typeof v === 'object' &&
      v !== null &&
      ['hash', 'compactRevision', 'revision'].every((k) => isNumber((v as Record<string, unknown>)[k]))),
}

export const DB_SUFFIX = '.db'
export const MANIFEST_SUFFIX = '.manifest.json'
/** In-flight files carry this marker; list and verify never treat them as snapshots. */
export const PARTIAL_MARKER = '.partial-'

/**
 * The in-flight name of BASE written by this process: BASE.partial-PID@HOST.RANDOM. The owner in the
 * name lets a save sharing the directory (another context, another cron host) tell its own partials
 * and a dead run's from a live run's.
 */
export function partialName(base: string): string {
  return `${base}${PARTIAL_MARKER}${process.pid}@${hostname()}.${randomBytes(4).toString('hex')}`
}

/** The process that writes a partial file, from its name (undefined for names without an owner). */
export function partialOwner(name: string): {pid: number; host: string} | undefined {
  const m = /\.partial-(\d+)@(.+)\.[0-9a-f]+$/.exec(name)
  return m ? {pid: Number(m[1]), host: m[2]} : undefined
}

/** Portable object names: lower-case letters, digits and '-' only, so every target stores them verbatim. */
export function snapshotName(context: string, at: Date, revision: number): string {
  const ctx =
    context
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'cluster'
  const ts = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'z')
    .toLowerCase()
  return `${ctx}-${ts}-r${revision}`
}

export async function parseManifest(text: string, where: string): Promise<Manifest> {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new Error(`${where}: manifest is not valid JSON: ${(error as Error).message}`)
  }
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const record = raw as Record<string, unknown>
    const fields = Object.entries(MANIFEST_FIELDS)
    // Like zod's object parse: the known keys only, unknown ones dropped.
    if (fields.every(([key, ok]) => ok(record[key]))) {
      const m = Object.fromEntries(
        fields.filter(([key]) => record[key] !== undefined).map(([key]) => [key, record[key]]),
      ) as Manifest
      if (m.hashKV)
        m.hashKV = {hash: m.hashKV.hash, compactRevision: m.hashKV.compactRevision, revision: m.hashKV.revision}
      return m
    }
  }
  const {manifestSchema} = await import('./manifest-schema.js')
  const r = manifestSchema.safeParse(raw)
  if (!r.success)
    throw new Error(
      `${where}: manifest is invalid: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    )
  return r.data
}
