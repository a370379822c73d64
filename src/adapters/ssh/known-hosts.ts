import {createHash, createHmac, randomBytes, timingSafeEqual} from 'node:crypto'
import {appendFile, mkdir, readFile} from 'node:fs/promises'
import {dirname} from 'node:path'
import {UsageError} from '../../errors.js'

/**
 * OpenSSH known_hosts: parsing, host matching (plain patterns with * ? and !negation, the
 * "[host]:port" form, hashed "|1|salt|hash" entries) and the host-key decision the client makes.
 */

export type KnownHostMarker = '@cert-authority' | '@revoked'

export interface KnownHostEntry {
  file: string
  line: number
  marker?: KnownHostMarker
  /** Comma-separated patterns, or undefined for a hashed entry. */
  patterns?: string[]
  hashed?: {salt: Buffer; hash: Buffer}
  keyType: string
  /** The public key blob (SSH wire format, base64-decoded). */
  key: Buffer
  comment?: string
}

export interface KnownHostsProblem {
  file: string
  line: number
  message: string
}

export interface ParsedKnownHosts {
  entries: KnownHostEntry[]
  /** Lines that could not be parsed; OpenSSH skips them too, so callers may only warn. */
  problems: KnownHostsProblem[]
}

export function parseKnownHosts(text: string, file = 'known_hosts'): ParsedKnownHosts {
  const entries: KnownHostEntry[] = []
  const problems: KnownHostsProblem[] = []
  const lines = text.split(/\r?\n/)
  lines.forEach((raw, i) => {
    const line = i + 1
    const trimmed = raw.trim()
    if (trimmed === '' || trimmed.startsWith('#')) return
    const fields = trimmed.split(/\s+/)
    let marker: KnownHostMarker | undefined
    if (fields[0].startsWith('@')) {
      const m = fields.shift()!
      if (m !== '@cert-authority' && m !== '@revoked') {
        problems.push({file, line, message: `unknown marker ${m}`})
        return
      }
      marker = m
    }
    if (fields.length < 3) {
      problems.push({file, line, message: 'expected "hosts keytype base64-key [comment]"'})
      return
    }
    const [hostsField, keyType, b64, ...rest] = fields
    const key = decodeBase64Strict(b64)
    if (!key || key.length < 4) {
      problems.push({file, line, message: 'key is not valid base64'})
      return
    }
    const blobType = keyTypeOf(key)
    if (blobType !== keyType) {
      problems.push({
        file,
        line,
        message: `key type ${keyType} does not match the key blob (${blobType ?? 'unreadable'})`,
      })
      return
    }
    const entry: KnownHostEntry = {
      file,
      line,
      marker,
      keyType,
      key,
      comment: rest.length > 0 ? rest.join(' ') : undefined,
    }
    if (hostsField.startsWith('|')) {
      const hashed = parseHashed(hostsField)
      if (!hashed) {
        problems.push({
          file,
          line,
          message: `unsupported hashed host ${hostsField.slice(0, 3)}… (only |1| HMAC-SHA1 hashes exist)`,
        })
        return
      }
      entry.hashed = hashed
    } else {
      entry.patterns = hostsField.split(',').filter(Boolean)
    }
    entries.push(entry)
  })
  return {entries, problems}
}

function decodeBase64Strict(s: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return undefined
  return Buffer.from(s, 'base64')
}

function parseHashed(field: string): {salt: Buffer; hash: Buffer} | undefined {
  const m = /^\|1\|([A-Za-z0-9+/=]+)\|([A-Za-z0-9+/=]+)$/.exec(field)
  if (!m) return undefined
  const salt = Buffer.from(m[1], 'base64')
  const hash = Buffer.from(m[2], 'base64')
  if (salt.length !== 20 || hash.length !== 20) return undefined
  return {salt, hash}
}

/** The name OpenSSH looks up: "host" on port 22, "[host]:port" otherwise. */
export function knownHostName(host: string, port = 22): string {
  // ssh lower-cases the host name before looking it up (and before hashing it).
  const h = host.toLowerCase()
  return port === 22 ? h : `[${h}]:${port}`
}

/** "|1|salt|hash" for NAME, as `ssh-keygen -H` writes it. */
export function hashKnownHostName(name: string, salt: Buffer = randomBytes(20)): string {
  const hash = createHmac('sha1', salt).update(name).digest()
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`
}

/** Glob match as OpenSSH's match_pattern: "*" any run, "?" one character, case-insensitive. */
function globMatch(name: string, pattern: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replaceAll('*', '.*')
      .replaceAll('?', '.')}$`,
    'i',
  )
  return re.test(name)
}

/** OpenSSH's match_hostname: a matching negated pattern vetoes the whole line. */
export function entryMatchesName(entry: KnownHostEntry, name: string): boolean {
  if (entry.hashed) {
    const want = createHmac('sha1', entry.hashed.salt).update(name).digest()
    return timingSafeEqual(want, entry.hashed.hash)
  }
  let matched = false
  for (const p of entry.patterns ?? []) {
    const negated = p.startsWith('!')
    if (globMatch(name, negated ? p.slice(1) : p)) {
      if (negated) return false
      matched = true
    }
  }
  return matched
}

/** The key type named inside an SSH public key blob (its first string). */
export function keyTypeOf(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined
  const len = blob.readUInt32BE(0)
  if (len === 0 || len > 64 || 4 + len > blob.length) return undefined
  return blob.subarray(4, 4 + len).toString('latin1')
}

/** "SHA256:…" as `ssh-keygen -lf` prints it (unpadded base64). */
export function fingerprintSha256(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`
}

export type HostKeyVerdict =
  | {status: 'match'; entry: KnownHostEntry}
  /** certAuthority: no plain key, but a @cert-authority line covers the host (certificates are not checked). */
  | {status: 'unknown'; certAuthority?: KnownHostEntry}
  | {status: 'changed'; expected: KnownHostEntry[]}
  | {status: 'revoked'; entry: KnownHostEntry}

/**
 * What the client must do with the key HOST:PORT presented. A host that has known keys but none
 * equal to the presented one is "changed" (man-in-the-middle or a reinstalled host): refuse.
 */
export function checkHostKey(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  key: Buffer,
): HostKeyVerdict {
  const forHost = hostEntries(entries, host, port)
  const revoked = forHost.find((e) => e.marker === '@revoked' && e.key.equals(key))
  if (revoked) return {status: 'revoked', entry: revoked}
  const plain = forHost.filter((e) => e.marker === undefined)
  const match = plain.find((e) => e.key.equals(key))
  if (match) return {status: 'match', entry: match}
  if (plain.length === 0) return {status: 'unknown', certAuthority: forHost.find((e) => e.marker === '@cert-authority')}
  const type = keyTypeOf(key)
  // Same key type first: that is the entry the server's key replaced.
  return {
    status: 'changed',
    expected: [...plain.filter((e) => e.keyType === type), ...plain.filter((e) => e.keyType !== type)],
  }
}

/**
 * The entries for HOST:PORT. For a port other than 22 the name is `[host]:port`; when no line names
 * it, lines for the bare host count, as in ssh ("found matching key w/out port").
 */
function hostEntries(entries: readonly KnownHostEntry[], host: string, port: number): KnownHostEntry[] {
  const exact = entries.filter((e) => entryMatchesName(e, knownHostName(host, port)))
  if (port === 22 || exact.some((e) => e.marker !== '@cert-authority')) return exact
  return [...exact, ...entries.filter((e) => entryMatchesName(e, host))]
}

/** OpenSSH's default HostKeyAlgorithms order (plain keys): the type ssh asks for first among those known. */
const OPENSSH_KEY_PREFERENCE = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
  'ssh-rsa',
]

/**
 * Key types known for HOST:PORT, to offer only those host-key algorithms, in OpenSSH's preference
 * order rather than file order: with a stale key of the preferred type known, ssh asks for that type
 * and refuses the changed key, even when a good key of another type is also listed.
 */
export function knownKeyTypes(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  const types = new Set(
    hostEntries(entries, host, port)
      .filter((e) => e.marker === undefined)
      .map((e) => e.keyType),
  )
  const rank = (t: string) =>
    OPENSSH_KEY_PREFERENCE.includes(t) ? OPENSSH_KEY_PREFERENCE.indexOf(t) : OPENSSH_KEY_PREFERENCE.length
  return [...types].sort((a, b) => rank(a) - rank(b))
}

export function formatKnownHostsLine(
  host: string,
  port: number,
  key: Buffer,
  {hash = false, comment}: {hash?: boolean; comment?: string} = {},
): string {
  const name = knownHostName(host, port)
  const type = keyTypeOf(key) ?? 'unknown'
  return `${hash ? hashKnownHostName(name) : name} ${type} ${key.toString('base64')}${comment ? ` ${comment}` : ''}`
}

/** Reads every file of UserKnownHostsFile (in order; missing files are empty) as one list of entries. */
export async function loadKnownHostsFiles(paths: readonly string[]): Promise<ParsedKnownHosts> {
  const all = await Promise.all(paths.map((p) => loadKnownHosts(p)))
  return {entries: all.flatMap((k) => k.entries), problems: all.flatMap((k) => k.problems)}
}

/** Reads and parses a known_hosts file; a missing file is an empty one. */
export async function loadKnownHosts(path: string): Promise<ParsedKnownHosts> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {entries: [], problems: []}
    throw new UsageError(`cannot read known_hosts file ${path}: ${(error as Error).message}`, {file: path})
  }
  return parseKnownHosts(text, path)
}

export async function appendKnownHost(
  path: string,
  host: string,
  port: number,
  key: Buffer,
  opts: {hash?: boolean; comment?: string} = {},
): Promise<void> {
  await mkdir(dirname(path), {recursive: true, mode: 0o700})
  let sep = ''
  try {
    const text = await readFile(path, 'utf8')
    if (text.length > 0 && !text.endsWith('\n')) sep = '\n'
  } catch {
    // A missing file is created by appendFile.
  }
  await appendFile(path, `${sep}${formatKnownHostsLine(host, port, key, opts)}\n`, {mode: 0o600})
}
