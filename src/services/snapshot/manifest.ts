import {randomBytes} from 'node:crypto'
import {hostname} from 'node:os'
import {z} from 'zod'

export const MANIFEST_FORMAT = 'plasmactl-snapshot/v1'

export const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  name: z.string(),
  context: z.string(),
  clusterId: z.string(),
  sourceMember: z.string(),
  sourceEndpoint: z.string(),
  revision: z.number(),
  raftTerm: z.number(),
  raftIndex: z.number(),
  keyCount: z.number().nullable(),
  size: z.number(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  dbSha256: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.string(),
  durationMs: z.number(),
  plasmactlVersion: z.string(),
  /** HashKV of the source member at the saved revision (absent: the member did not answer, or had compacted past it). */
  hashKV: z.object({hash: z.number(), compactRevision: z.number(), revision: z.number()}).optional(),
})

export type Manifest = z.infer<typeof manifestSchema>

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

export function parseManifest(text: string, where: string): Manifest {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    throw new Error(`${where}: manifest is not valid JSON: ${(error as Error).message}`)
  }
  const r = manifestSchema.safeParse(raw)
  if (!r.success)
    throw new Error(
      `${where}: manifest is invalid: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    )
  return r.data
}
