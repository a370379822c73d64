import {connect as netConnect, type Socket} from 'node:net'
import {StringDecoder} from 'node:string_decoder'
import {connect as tlsConnect} from 'node:tls'
import {OperationError, UsageError} from '../../errors.js'
import {withRetry} from '../../core/retry.js'
import {readTlsFile} from '../tls-files.js'

/**
 * An OVSDB JSON-RPC client (RFC 7047) over TCP or SSL: the one module that speaks to the OVN
 * Northbound/Southbound DBs. Messages are JSON objects written back to back with no framing, so the
 * reader splits the stream by tracking JSON nesting. The server's "echo" keepalives are answered.
 */

export interface OvsdbTls {
  ca?: string
  cert?: string
  key?: string
  serverName?: string
}

export interface OvsdbRemote {
  /** As written in the config: tcp:HOST:PORT or ssl:HOST:PORT (ovsdb-client syntax). */
  url: string
  protocol: 'tcp' | 'ssl'
  host: string
  port: number
}

/** Parses "tcp:127.0.0.1:6641", "ssl:[::1]:6641" (also tcp://host:port). */
export function parseRemote(url: string): OvsdbRemote {
  const m = /^(tcp|ssl):(?:\/\/)?(\[[^\]]+\]|[^:]+):(\d+)$/.exec(url.trim())
  if (!m) throw new UsageError(`invalid OVSDB remote "${url}": expected tcp:HOST:PORT or ssl:HOST:PORT`)
  const port = Number(m[3])
  if (port < 1 || port > 65_535) throw new UsageError(`invalid OVSDB remote "${url}": port out of range`)
  return {url, protocol: m[1] as 'tcp' | 'ssl', host: m[2].replace(/^\[|\]$/g, ''), port}
}

/** Raised for any failure talking to one OVSDB remote; carries the endpoint. */
export class OvsdbError extends OperationError {
  readonly transient: boolean
  constructor(remote: string, message: string, transient: boolean, cause?: unknown) {
    super(`${remote}: ${message}`, {endpoint: remote}, {cause})
    this.transient = transient
  }
}

/** Splits a stream of concatenated JSON texts into complete texts. */
export class JsonStreamSplitter {
  private buf = ''
  private depth = 0
  private inString = false
  private escape = false
  private start = -1
  private scanned = 0

  push(chunk: string): string[] {
    this.buf += chunk
    const out: string[] = []
    for (let i = this.scanned; i < this.buf.length; i++) {
      const ch = this.buf[i]
      if (this.inString) {
        if (this.escape) this.escape = false
        else if (ch === '\\') this.escape = true
        else if (ch === '"') this.inString = false
        continue
      }
      if (ch === '"') this.inString = true
      else if (ch === '{' || ch === '[') {
        if (this.depth === 0) this.start = i
        this.depth++
      } else if (ch === '}' || ch === ']') {
        this.depth--
        if (this.depth === 0) {
          out.push(this.buf.slice(this.start, i + 1))
          this.start = -1
        } else if (this.depth < 0) throw new Error('unbalanced JSON in OVSDB stream')
      }
    }
    if (this.depth === 0) {
      this.buf = ''
      this.scanned = 0
    } else {
      this.buf = this.buf.slice(this.start)
      this.scanned = this.buf.length
      this.start = 0
    }
    return out
  }
}

interface Pending {
  resolve: (v: unknown) => void
  reject: (e: Error) => void
  timer: NodeJS.Timeout
  method: string
}

export interface OvsdbConnectOptions {
  tls?: OvsdbTls
  timeoutMs?: number
}

/** One connection to one OVSDB server. */
export class OvsdbConnection {
  private socket?: Socket
  private nextId = 1
  private readonly pending = new Map<number, Pending>()
  private readonly splitter = new JsonStreamSplitter()
  private closedError?: Error
  readonly remote: OvsdbRemote

  constructor(
    url: string,
    private readonly opts: OvsdbConnectOptions = {},
  ) {
    this.remote = parseRemote(url)
  }

  get timeoutMs(): number {
    return this.opts.timeoutMs ?? 3000
  }

  connect(): Promise<void> {
    const {host, port, protocol, url} = this.remote
    return new Promise((resolve, reject) => {
      let settled = false
      const done = (err?: Error) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (err) {
          sock.destroy()
          reject(err)
        } else resolve()
      }
      let sock: Socket
      if (protocol === 'ssl') {
        const read = readTlsFile
        const t = this.opts.tls ?? {}
        sock = tlsConnect({
          host,
          port,
          ca: read(t.ca),
          cert: read(t.cert),
          key: read(t.key),
          servername: t.serverName ?? (/^[\d.:]+$/.test(host) ? undefined : host),
        })
        sock.once('secureConnect', () => done())
      } else {
        sock = netConnect({host, port})
        sock.once('connect', () => done())
      }
      const timer = setTimeout(
        () => done(new OvsdbError(url, `no connection within ${this.timeoutMs} ms`, true)),
        this.timeoutMs,
      )
      sock.once('error', (err: NodeJS.ErrnoException) =>
        done(new OvsdbError(url, describeSocketError(err), isTransientSocketError(err), err)),
      )
      this.socket = sock
      const decoder = new StringDecoder('utf8')
      sock.on('data', (d: Buffer) => this.onData(decoder.write(d)))
      sock.on('error', (err: NodeJS.ErrnoException) =>
        this.failAll(new OvsdbError(url, describeSocketError(err), true, err)),
      )
      sock.on('close', () => this.failAll(new OvsdbError(url, 'connection closed by the server', true)))
    })
  }

  private onData(text: string): void {
    let msgs: string[]
    try {
      msgs = this.splitter.push(text)
    } catch (error) {
      this.failAll(new OvsdbError(this.remote.url, (error as Error).message, false))
      this.socket?.destroy()
      return
    }
    for (const raw of msgs) {
      let msg: {id?: unknown; method?: string; params?: unknown; result?: unknown; error?: unknown}
      try {
        msg = JSON.parse(raw)
      } catch {
        continue
      }
      if (msg.method === 'echo') {
        this.write({id: msg.id, result: msg.params ?? [], error: null})
        continue
      }
      if (typeof msg.id !== 'number') continue
      const p = this.pending.get(msg.id)
      if (!p) continue
      this.pending.delete(msg.id)
      clearTimeout(p.timer)
      if (msg.error !== null && msg.error !== undefined) {
        const e = msg.error as {error?: string; details?: string} | string
        const text = typeof e === 'string' ? e : `${e.error ?? 'error'}${e.details ? `: ${e.details}` : ''}`
        p.reject(new OvsdbError(this.remote.url, `${p.method} failed: ${text}`, false))
      } else p.resolve(msg.result)
    }
  }

  private failAll(err: Error): void {
    this.closedError ??= err
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer)
      p.reject(err)
      this.pending.delete(id)
    }
  }

  private write(obj: unknown): void {
    this.socket?.write(JSON.stringify(obj))
  }

  request<T = unknown>(method: string, params: unknown[]): Promise<T> {
    if (!this.socket || this.closedError)
      return Promise.reject(this.closedError ?? new OvsdbError(this.remote.url, 'not connected', true))
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(new OvsdbError(this.remote.url, `${method}: no answer within ${this.timeoutMs} ms`, true))
      }, this.timeoutMs)
      this.pending.set(id, {resolve: resolve as (v: unknown) => void, reject, timer, method})
      this.write({id, method, params})
    })
  }

  listDbs(): Promise<string[]> {
    return this.request<string[]>('list_dbs', [])
  }

  async select(db: string, table: string, columns?: string[]): Promise<Record<string, unknown>[]> {
    const op: Record<string, unknown> = {op: 'select', table, where: []}
    if (columns) op.columns = columns
    const result = await this.request<{rows?: Record<string, unknown>[]; error?: string; details?: string}[]>(
      'transact',
      [db, op],
    )
    const r = result?.[0]
    if (!r || r.error)
      throw new OvsdbError(
        this.remote.url,
        `select ${db}.${table} failed: ${r?.error ?? 'no result'}${r?.details ? `: ${r.details}` : ''}`,
        false,
      )
    return r.rows ?? []
  }

  close(): void {
    this.socket?.destroy()
    this.socket = undefined
  }
}

function describeSocketError(err: NodeJS.ErrnoException): string {
  if (err.code === 'ECONNREFUSED') return 'connection refused'
  if (err.code === 'ECONNRESET') return 'connection reset'
  if (err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') return 'host unreachable'
  return err.code ? `${err.code}: ${err.message}` : err.message
}

function isTransientSocketError(err: NodeJS.ErrnoException): boolean {
  // Refused means nothing listens: retrying only delays the verdict on a stopped server.
  return err.code === 'ECONNRESET' || err.code === 'ETIMEDOUT' || err.code === 'EPIPE' || err.code === 'EAI_AGAIN'
}

/** An OVSDB value: atoms as they are, ["set", [...]] as arrays, ["uuid", u] as u, ["map", ...] as objects. */
export function ovsdbValue(v: unknown): unknown {
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string') {
    if (v[0] === 'uuid' || v[0] === 'named-uuid') return v[1]
    if (v[0] === 'set') return (v[1] as unknown[]).map((x) => ovsdbValue(x))
    if (v[0] === 'map')
      return Object.fromEntries((v[1] as [unknown, unknown][]).map(([k, x]) => [String(ovsdbValue(k)), ovsdbValue(x)]))
  }
  return v
}

/** An optional column (min 0, max 1): the value, or null for the empty set. */
export function ovsdbOptional<T>(v: unknown): T | null {
  const x = ovsdbValue(v)
  if (Array.isArray(x)) return (x[0] as T) ?? null
  return (x as T) ?? null
}

/** One row of _Server.Database: what a server says about a database it serves (clustered or not). */
export interface ServerDatabase {
  name: string
  model: string
  connected: boolean
  leader: boolean
  /** Cluster id and server id (clustered databases only). */
  cid: string | null
  sid: string | null
  index: number | null
}

export interface OvsdbServerInfo {
  remote: string
  dbs: string[]
  databases: ServerDatabase[]
  latencyMs: number
}

/**
 * Connects, lists the databases and reads _Server.Database, then closes. Transient failures
 * (reset, timeout) are retried with backoff and jitter; a refused connection fails at once.
 */
export async function queryServer(
  url: string,
  opts: OvsdbConnectOptions & {retries?: number} = {},
): Promise<OvsdbServerInfo> {
  return withRetry(
    async () => {
      const started = performance.now()
      const c = new OvsdbConnection(url, opts)
      try {
        await c.connect()
        const dbs = await c.listDbs()
        const rows = dbs.includes('_Server')
          ? await c.select('_Server', 'Database', ['name', 'model', 'connected', 'leader', 'cid', 'sid', 'index'])
          : []
        const databases = rows.map((r) => ({
          name: String(r.name),
          model: String(r.model),
          connected: r.connected === true,
          leader: r.leader === true,
          cid: ovsdbOptional<string>(r.cid),
          sid: ovsdbOptional<string>(r.sid),
          index: ovsdbOptional<number>(r.index),
        }))
        return {remote: url, dbs, databases, latencyMs: Math.round(performance.now() - started)}
      } finally {
        c.close()
      }
    },
    {retries: opts.retries ?? 2, baseMs: 50, isTransient: (e) => e instanceof OvsdbError && e.transient},
  )
}
