import {createHash, type Hash} from 'node:crypto'
import {readChunks} from '../../core/fs.js'
import {BBOLT_HEAD_BYTES, checkBboltStructure, type StructureCheck} from './bbolt.js'

/** etcd appends a SHA-256 of the database bytes to every snapshot it streams. */
export const TRAILER_BYTES = 32
/** bbolt's page size: a complete database file is a whole number of pages. */
export const DB_PAGE_BYTES = 4096

export interface SnapshotDigest {
  size: number
  /** SHA-256 of the whole file (database + trailer): what manifests and targets compare. */
  sha256: string
  /** SHA-256 of the database bytes, recomputed. */
  dbSha256: string
  /** The trailer the file carries (hex), or null when the file is shorter than a trailer. */
  trailer: string | null
  trailerOk: boolean
  pageAligned: boolean
  /** bbolt structure checks of the database bytes (meta pages, pages referenced vs held). */
  structure: StructureCheck[]
}

/**
 * Hashes a snapshot as it streams past, holding back the last 32 bytes so the trailer can be
 * checked at the end without a second pass or buffering the file.
 */
export class SnapshotHasher {
  /** SHA-256 of the database bytes; the whole file's hash is this state plus the trailer (Hash.copy). */
  private readonly db: Hash = createHash('sha256')
  private tail: Buffer = Buffer.alloc(0)
  private size = 0
  /** The first bytes (the meta pages), kept for the structure checks. */
  private head: Buffer[] = []
  private headBytes = 0

  update(chunk: Buffer): void {
    if (this.headBytes < BBOLT_HEAD_BYTES) {
      const part = Buffer.from(chunk.subarray(0, BBOLT_HEAD_BYTES - this.headBytes))
      this.head.push(part)
      this.headBytes += part.length
    }
    this.size += chunk.length
    if (chunk.length >= TRAILER_BYTES) {
      // Common case: the held-back bytes are database bytes after all, and so is all of this chunk but its last 32.
      if (this.tail.length > 0) this.db.update(this.tail)
      this.db.update(chunk.subarray(0, chunk.length - TRAILER_BYTES))
      this.tail = Buffer.from(chunk.subarray(chunk.length - TRAILER_BYTES))
      return
    }
    const joined = Buffer.concat([this.tail, chunk])
    const keep = Math.min(TRAILER_BYTES, joined.length)
    if (joined.length > keep) this.db.update(joined.subarray(0, joined.length - keep))
    this.tail = joined.subarray(joined.length - keep)
  }

  get bytes(): number {
    return this.size
  }

  digest(): SnapshotDigest {
    // One SHA-256 pass over the bytes: the whole file is the database bytes followed by the held-back tail.
    const whole = this.db.copy().update(this.tail)
    const dbSha256 = this.db.digest('hex')
    const complete = this.tail.length === TRAILER_BYTES
    const trailer = complete ? this.tail.toString('hex') : null
    return {
      size: this.size,
      sha256: whole.digest('hex'),
      dbSha256,
      trailer,
      trailerOk: complete && trailer === dbSha256 && this.size > TRAILER_BYTES,
      pageAligned: (this.size - TRAILER_BYTES) % DB_PAGE_BYTES === 0,
      structure: checkBboltStructure(Buffer.concat(this.head), Math.max(0, this.size - TRAILER_BYTES)),
    }
  }
}

/** Reads a file from disk through the hasher (constant memory: core/fs.ts readChunks). */
export async function digestFile(path: string): Promise<SnapshotDigest> {
  const h = new SnapshotHasher()
  await readChunks(path, (chunk) => h.update(chunk))
  return h.digest()
}
