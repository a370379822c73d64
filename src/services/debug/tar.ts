import {gzipSync} from 'node:zlib'

/**
 * A write-only tar.gz (POSIX ustar) for the debug bundle. No tar library is installed and the
 * bundle only ever writes small regular files with names it chooses, so the format's simplest
 * subset is enough: 512-byte header, data padded to 512, two zero blocks at the end. GNU tar,
 * bsdtar and Python's tarfile read it (the integration test lists and extracts it with tar).
 */

export interface TarEntry {
  /** Relative path with "/" separators, at most 100 bytes after the prefix split (255 in all). */
  path: string
  data: Buffer
  mtime: Date
  mode?: number
}

const BLOCK = 512

function octal(n: number, width: number): string {
  // width - 1 digits then NUL, as ustar wants.
  return n.toString(8).padStart(width - 1, '0') + '\0'
}

/** Splits PATH into ustar's prefix (≤155) and name (≤100) at a "/". */
function splitPath(path: string): {prefix: string; name: string} {
  if (Buffer.byteLength(path) <= 100) return {prefix: '', name: path}
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const prefix = path.slice(0, i)
    const name = path.slice(i + 1)
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return {prefix, name}
  }
  throw new Error(`tar: path too long for ustar: ${path}`)
}

function header(e: TarEntry): Buffer {
  const h = Buffer.alloc(BLOCK, 0)
  const {prefix, name} = splitPath(e.path)
  h.write(name, 0, 100, 'utf8')
  h.write(octal(e.mode ?? 0o644, 8), 100, 8, 'ascii')
  h.write(octal(0, 8), 108, 8, 'ascii') // uid
  h.write(octal(0, 8), 116, 8, 'ascii') // gid
  h.write(octal(e.data.length, 12), 124, 12, 'ascii')
  h.write(octal(Math.floor(e.mtime.getTime() / 1000), 12), 136, 12, 'ascii')
  h.write('        ', 148, 8, 'ascii') // checksum counts as spaces while summing
  h.write('0', 156, 1, 'ascii') // regular file
  h.write('ustar\0', 257, 6, 'ascii')
  h.write('00', 263, 2, 'ascii')
  h.write(prefix, 345, 155, 'utf8')
  let sum = 0
  for (const b of h) sum += b
  h.write(octal(sum, 7) + ' ', 148, 8, 'ascii')
  return h
}

/** The gzipped tar of ENTRIES, in order. */
export function tarGz(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = []
  for (const e of entries) {
    if (e.data.length >= 8 ** 11) throw new Error(`tar: ${e.path} is too large for ustar`)
    parts.push(header(e), e.data)
    const pad = (BLOCK - (e.data.length % BLOCK)) % BLOCK
    if (pad) parts.push(Buffer.alloc(pad, 0))
  }
  parts.push(Buffer.alloc(BLOCK * 2, 0))
  return gzipSync(Buffer.concat(parts))
}
