import {z} from 'zod'
import {MANIFEST_FORMAT} from './manifest.js'

/** A snapshot's manifest (NAME.manifest.json beside NAME.db). Loaded only for a manifest that
 *  manifest.ts's quick check rejects, to say precisely what is wrong. */
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
