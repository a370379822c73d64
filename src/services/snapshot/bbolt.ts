/**
 * The structure of a bbolt file (etcd's backend), enough to tell a whole database from a cut one
 * whose SHA-256 trailer was recomputed. Layout (little-endian, see etcd-io/bbolt internal/common):
 * a page starts with a 16-byte header (id u64, flags u16, count u16, overflow u32); pages 0 and 1
 * are meta pages whose body is magic u32, version u32, pageSize u32, flags u32, root bucket
 * (root pgid u64, sequence u64), freelist pgid u64, pgid u64 (high-water mark: pages in use),
 * txid u64, checksum u64 = FNV-1a 64 of the 56 bytes before it.
 */
export const BBOLT_MAGIC = 0xed0cdaed
export const BBOLT_VERSION = 2
const PAGE_HEADER = 16
const META_SUM_BYTES = 56
const META_PAGE_FLAG = 0x04
const NO_FREELIST = 0xffff_ffff_ffff_ffffn
const FNV64_OFFSET = 0xcbf2_9ce4_8422_2325n
const FNV64_PRIME = 0x100_0000_01b3n
const U64 = (1n << 64n) - 1n

export function fnv1a64(bytes: Uint8Array): bigint {
  let h = FNV64_OFFSET
  for (const b of bytes) h = ((h ^ BigInt(b)) * FNV64_PRIME) & U64
  return h
}

export interface BboltMeta {
  page: number
  /** Why this meta page is unusable, or undefined when it is valid. */
  error?: string
  pageSize: number
  root: bigint
  freelist: bigint
  pgid: bigint
  txid: bigint
}

/** Decodes and validates the meta page that starts at BUF[0] (page number PAGE). */
export function decodeMeta(buf: Buffer, page: number): BboltMeta {
  const m = PAGE_HEADER
  if (buf.length < m + META_SUM_BYTES + 8)
    return {page, error: 'file too short for a meta page', pageSize: 0, root: 0n, freelist: 0n, pgid: 0n, txid: 0n}
  const meta: BboltMeta = {
    page,
    pageSize: buf.readUInt32LE(m + 8),
    root: buf.readBigUInt64LE(m + 16),
    freelist: buf.readBigUInt64LE(m + 32),
    pgid: buf.readBigUInt64LE(m + 40),
    txid: buf.readBigUInt64LE(m + 48),
  }
  const magic = buf.readUInt32LE(m)
  const version = buf.readUInt32LE(m + 4)
  const sum = buf.readBigUInt64LE(m + META_SUM_BYTES)
  if (buf.readUInt16LE(8) !== META_PAGE_FLAG)
    meta.error = `page ${page} is not a meta page (flags 0x${buf.readUInt16LE(8).toString(16)})`
  else if (magic !== BBOLT_MAGIC) meta.error = `bad magic 0x${magic.toString(16)} (not a bbolt file)`
  else if (version !== BBOLT_VERSION) meta.error = `format version ${version}, expected ${BBOLT_VERSION}`
  else if (sum !== fnv1a64(buf.subarray(m, m + META_SUM_BYTES))) meta.error = 'checksum mismatch'
  else if (meta.pageSize < 512 || (meta.pageSize & (meta.pageSize - 1)) !== 0)
    meta.error = `implausible page size ${meta.pageSize}`
  else if (meta.root >= meta.pgid) meta.error = `root bucket page ${meta.root} is past the high-water mark ${meta.pgid}`
  else if (meta.freelist >= meta.pgid && meta.freelist !== NO_FREELIST)
    meta.error = `freelist page ${meta.freelist} is past the high-water mark ${meta.pgid}`
  return meta
}

export interface StructureCheck {
  check: string
  ok: boolean
  detail: string
}

/** How much of the start of a file the structure checks need: both meta pages at the largest page size. */
export const BBOLT_HEAD_BYTES = 2 * 65_536

/**
 * Checks the bbolt structure of a database of DB_BYTES whose first bytes are HEAD: both meta
 * pages, and that the database holds every page the newest valid meta page says is in use.
 */
export function checkBboltStructure(head: Buffer, dbBytes: number): StructureCheck[] {
  const at = (offset: number) => head.subarray(offset, Math.min(dbBytes, offset + PAGE_HEADER + META_SUM_BYTES + 8))
  const m0 = decodeMeta(at(0), 0)
  // Page 1 starts one page in: at the page size meta 0 records, else at bbolt's usual 4096.
  const m1 = decodeMeta(at(m0.error || m0.pageSize > BBOLT_HEAD_BYTES / 2 ? 4096 : m0.pageSize), 1)
  const valid = [m0, m1].filter((m) => !m.error).sort((a, b) => (b.txid > a.txid ? 1 : b.txid < a.txid ? -1 : 0))
  const checks: StructureCheck[] = [
    {
      check: 'bbolt-meta',
      ok: valid.length === 2,
      detail: [m0, m1].map((m) => `meta page ${m.page}: ${m.error ?? `ok (txid ${m.txid})`}`).join('; '),
    },
  ]
  const best = valid[0]
  if (best) {
    const need = best.pgid * BigInt(best.pageSize)
    const ok = need <= BigInt(dbBytes)
    checks.push({
      check: 'bbolt-pages',
      ok,
      detail: ok
        ? `holds all ${best.pgid} pages of ${best.pageSize} bytes that meta page ${best.page} references`
        : `meta page ${best.page} references ${best.pgid} pages of ${best.pageSize} bytes (${need} bytes) but the database is ${dbBytes} bytes (truncated)`,
    })
  }
  return checks
}
