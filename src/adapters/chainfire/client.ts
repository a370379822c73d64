import * as grpc from '@grpc/grpc-js'
import {OperationError, UsageError} from '../../errors.js'
import {readTlsFile} from '../tls-files.js'
import {backoffDelay} from '../../core/retry.js'
import {quickIsIPv6} from './net-fast.js'
import {
  alarmCodec,
  type Codec,
  compactionCodec,
  hashKVCodec,
  deleteRangeCodec,
  defragmentCodec,
  idLong,
  memberAddCodec,
  memberListCodec,
  memberPromoteCodec,
  memberRemoveCodec,
  moveLeaderCodec,
  leaseGrantCodec,
  leaseKeepAliveCodec,
  leaseRevokeCodec,
  putCodec,
  snapshotCodec,
  type SnapshotChunk,
  txnCasCodec,
  txnDeleteIfLeaseCodec,
  txnPutIfAbsentCodec,
  rangeCodec,
  type RangeRequest,
  statusCodec,
  watchCodec,
  type WatchEvent,
  type WatchRequestMsg,
  type WatchResponseMsg,
} from './codec.js'

/** What a resumable watch yields, in order. */
export type WatchItem =
  | {type: 'connected'; endpoint: string; url: string; fromRevision: number}
  /** Events of one or more revisions, each event delivered once, in revision order. */
  | {type: 'events'; events: WatchEvent[]; revision: number}
  /** Revisions fromRevision..compactRevision-1 were compacted away: their events are lost to this watch. */
  | {type: 'gap'; fromRevision: number; compactRevision: number}
  | {type: 'disconnected'; endpoint: string; error: string; retryInMs: number}
  /** The server confirmed every event up to this revision was sent (nothing new under the prefix). */
  | {type: 'progress'; revision: number}

export interface WatchOptions {
  key: Buffer
  rangeEnd?: Buffer
  /** First revision to deliver (inclusive); default: from now. */
  startRevision?: number
  signal: AbortSignal
  /** First reconnect delay; doubles per failed attempt up to maxBackoffMs, with jitter. */
  backoffMs?: number
  maxBackoffMs?: number
}

export interface ChainfireTls {
  ca?: string
  cert?: string
  key?: string
  serverName?: string
}

export interface EndpointSpec {
  name: string
  url: string
}

export interface ChainfireClientOptions {
  endpoints: EndpointSpec[]
  tls?: ChainfireTls
  /** Deadline of each call, per attempt. */
  commandTimeoutMs?: number
  /** Rounds over all endpoints for retryable calls. */
  retries?: number
  /** First backoff between rounds; doubles each round, with jitter. */
  backoffMs?: number
  /** Bearer token attached to every call (IAM). */
  token?: string
}

/**
 * Per-stream HTTP/2 receive window: the most a stream can have in flight (memory bound). 1 MiB is 32
 * snapshot chunks: on loopback a save ran as fast as with 2 or 8 MiB, and on a loaded machine (a CPU
 * burner beside it) it peaked at 77–79 MiB against 102–103 with 2 MiB (bench/snapshot.mjs). Across
 * a network it caps one stream at 1 MiB per round trip (2 GB/s at 0.5 ms, 50 MB/s at 20 ms).
 */
export const FLOW_CONTROL_WINDOW = 1024 * 1024

const RETRYABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED])

/**
 * A transport failure in plain words ("connection refused", "no answer within 3s"), or undefined when
 * the server answered and its own words say more. grpc-js's channel text ("No connection established.
 * Last error: null. Resolution note: ") never reaches the operator.
 */
export function transportReason(code: number, detail: string): string | undefined {
  if (/ECONNREFUSED/.test(detail)) return 'connection refused (is the member running?)'
  if (/EHOSTUNREACH|ENETUNREACH/.test(detail)) return 'host unreachable'
  if (/ENOTFOUND|EAI_AGAIN/.test(detail)) return 'host name not found'
  if (/ECONNRESET|socket hang up/.test(detail)) return 'connection reset'
  if (code === grpc.status.DEADLINE_EXCEEDED) {
    const after = /after ([\d.]+)s/.exec(detail)?.[1]
    return after ? `no answer within ${Number(after).toFixed(1).replace(/\.0$/, '')}s` : 'no answer in time'
  }
  if (
    code === grpc.status.UNAVAILABLE &&
    /No connection established|Connection dropped|failed to connect|Name resolution/i.test(detail)
  )
    return 'not answering (no connection could be established)'
  if (/certificate|SSL|TLS|handshake/i.test(detail) && code === grpc.status.UNAVAILABLE)
    return `TLS handshake failed: ${detail.replace(/\s*Last error:.*$/s, '').trim()}`
  return undefined
}

/** Raised for a gRPC failure, keeping the endpoint and gRPC code for callers to decide on. */
export class ChainfireCallError extends OperationError {
  readonly grpcCode: number
  /** The reason in plain words, without the endpoint ("connection refused (is the member running?)"). */
  readonly reason: string
  constructor(endpoint: EndpointSpec, method: string, err: grpc.ServiceError | Error) {
    const code = (err as grpc.ServiceError).code ?? grpc.status.UNKNOWN
    const detail = (err as grpc.ServiceError).details || err.message
    const plain = transportReason(code, detail)
    const call = method.split('/').pop() ?? method
    const reason = plain ?? `${call} failed: ${grpc.status[code] ?? code}: ${detail}`
    super(
      plain
        ? `ChainFire member ${endpoint.name} at ${endpoint.url}: ${plain}`
        : `${endpoint.name} (${endpoint.url}): ${reason}`,
      {
        endpoint: endpoint.url,
        member: endpoint.name,
        grpcCode: grpc.status[code] ?? String(code),
      },
    )
    this.grpcCode = code
    this.reason = reason
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.grpcCode)
  }

  /**
   * etcd's refusal of a membership change, by the server's own error (rpctypes: a fixed gRPC code
   * and text), so callers branch on a kind instead of matching message text.
   */
  get membershipRefusal(): MembershipRefusal | undefined {
    for (const [kind, text] of MEMBERSHIP_REFUSALS) if (this.reason.includes(text)) return kind
    return this.grpcCode === grpc.status.FAILED_PRECONDITION ? 'precondition' : undefined
  }
}

/** Why etcd refused a member add/remove/promote; `unhealthy-cluster` and `learner-not-ready` pass with time. */
export type MembershipRefusal =
  'unhealthy-cluster' | 'not-enough-started-members' | 'too-many-learners' | 'learner-not-ready' | 'precondition'

/** etcd's errors (api/v3rpc/rpctypes/error.go): the kind and the server's fixed text. */
const MEMBERSHIP_REFUSALS: [MembershipRefusal, string][] = [
  ['unhealthy-cluster', 'etcdserver: unhealthy cluster'],
  ['not-enough-started-members', 'etcdserver: re-configuration failed due to not enough started members'],
  ['too-many-learners', 'etcdserver: too many learner members in cluster'],
  ['learner-not-ready', 'etcdserver: can only promote a learner member which is in sync with leader'],
]

function target(url: string): string {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new UsageError(`invalid ChainFire endpoint URL "${url}"`)
  }
  const port = u.port || (u.protocol === 'https:' ? '443' : '2379')
  return `${u.hostname}:${port}`
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * The one module that speaks ChainFire's wire API (etcd v3 gRPC). One channel per endpoint, so each
 * member can be asked for its own status; cluster-wide calls fail over between endpoints and retry
 * transient errors with exponential backoff and jitter.
 */
export class ChainfireClient {
  private readonly clients = new Map<string, grpc.Client>()
  private readonly creds: grpc.ChannelCredentials
  private readonly opts: Required<Omit<ChainfireClientOptions, 'tls' | 'token'>> &
    Pick<ChainfireClientOptions, 'tls' | 'token'>
  private preferred = 0
  /** Counts close() calls: calls in flight across one stop retrying. */
  private closes = 0

  constructor(options: ChainfireClientOptions) {
    if (options.endpoints.length === 0) throw new UsageError('no ChainFire endpoints given')
    this.opts = {commandTimeoutMs: 5000, retries: 3, backoffMs: 100, ...options}
    this.creds = this.credentials(options)
  }

  get endpoints(): EndpointSpec[] {
    return this.opts.endpoints
  }

  private credentials(options: ChainfireClientOptions): grpc.ChannelCredentials {
    const secure = options.endpoints.some((e) => e.url.startsWith('https:'))
    let creds = grpc.credentials.createInsecure()
    if (secure || options.tls?.ca || options.tls?.cert) {
      const read = (p?: string) => readTlsFile(p) ?? null
      creds = grpc.credentials.createSsl(read(options.tls?.ca), read(options.tls?.key), read(options.tls?.cert))
    }
    if (options.token) {
      const token = options.token
      const callCreds = grpc.credentials.createFromMetadataGenerator((_p, cb) => {
        const md = new grpc.Metadata()
        md.set('authorization', `Bearer ${token}`)
        cb(null, md)
      })
      creds = grpc.credentials.combineChannelCredentials(creds, callCreds)
    }
    return creds
  }

  private client(endpoint: EndpointSpec): grpc.Client {
    let c = this.clients.get(endpoint.url)
    if (!c) {
      quickIsIPv6()
      const channelOptions: grpc.ChannelOptions = {
        'grpc.max_receive_message_length': -1,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
        'grpc.keepalive_time_ms': 30_000,
        // No channelz: nothing reads it, and its bookkeeping (trace events per channel, subchannel
        // and call) is paid on every call of every command, from the first.
        'grpc.enable_channelz': 0,
        // HTTP/2's default 64 KiB window allows two 32 KiB snapshot chunks in flight, so a snapshot
        // stream waits a round trip every 64 KiB. A bigger window (as Go's gRPC grows to) keeps the
        // stream moving, and still bounds what can pile up in memory.
        'grpc-node.flow_control_window': FLOW_CONTROL_WINDOW,
      }
      if (this.opts.tls?.serverName) channelOptions['grpc.ssl_target_name_override'] = this.opts.tls.serverName
      c = new grpc.Client(target(endpoint.url), this.creds, channelOptions)
      this.clients.set(endpoint.url, c)
    }
    return c
  }

  endpoint(name: string): EndpointSpec {
    const e = this.opts.endpoints.find((x) => x.name === name || x.url === name)
    if (!e)
      throw new UsageError(
        `unknown ChainFire endpoint "${name}" (have: ${this.opts.endpoints.map((x) => x.name).join(', ')})`,
      )
    return e
  }

  /** One call on one endpoint, no retry: what per-member probes need. */
  unaryOn<Req, Res>(
    endpoint: EndpointSpec,
    method: string,
    c: Codec<Req, Res>,
    req: Req,
    timeoutMs = this.opts.commandTimeoutMs,
  ): Promise<Res> {
    const client = this.client(endpoint)
    return new Promise<Res>((resolve, reject) => {
      client.makeUnaryRequest(
        method,
        c.serialize,
        c.deserialize,
        req,
        new grpc.Metadata(),
        {deadline: Date.now() + timeoutMs},
        (err, res) => {
          if (err) reject(new ChainfireCallError(endpoint, method.split('/').pop() ?? method, err))
          else resolve(res as Res)
        },
      )
    })
  }

  /** A cluster-wide call: tries endpoints in turn, retrying transient failures with backoff. */
  async unary<Req, Res>(method: string, c: Codec<Req, Res>, req: Req, {retry = true} = {}): Promise<Res> {
    const n = this.opts.endpoints.length
    const rounds = retry ? this.opts.retries : 1
    let last: ChainfireCallError | undefined
    // A call in flight when the client is closed stops retrying (a check that gave up must not keep the process alive).
    const gen = this.closes
    const open = () => this.closes === gen
    for (let round = 0; round < rounds && open(); round++) {
      for (let i = 0; i < n && open(); i++) {
        const idx = (this.preferred + i) % n
        try {
          const res = await this.unaryOn(this.opts.endpoints[idx], method, c, req)
          this.preferred = idx
          return res
        } catch (error) {
          if (!(error instanceof ChainfireCallError) || !error.retryable) throw error
          last = error
        }
      }
      if (round < rounds - 1 && open()) {
        await sleep(backoffDelay(round, this.opts.backoffMs, Number.POSITIVE_INFINITY))
      }
    }
    throw new OperationError(
      `no ChainFire endpoint answered (${n} tried${rounds > 1 ? `, ${rounds} rounds` : ''}): ${last?.message ?? 'unknown error'}`,
      {
        endpoint: this.opts.endpoints.map((e) => e.url).join(','),
        hint: 'check that the members run and that the endpoints in the context are right (plasmactl health)',
      },
    )
  }

  status(endpoint: EndpointSpec, timeoutMs?: number) {
    return this.unaryOn(endpoint, '/etcdserverpb.Maintenance/Status', statusCodec, {}, timeoutMs)
  }

  /** A linearizable read: succeeds only when the member can reach a quorum (as etcdctl endpoint health). */
  linearizableRead(endpoint: EndpointSpec, timeoutMs?: number) {
    return this.unaryOn(
      endpoint,
      '/etcdserverpb.KV/Range',
      rangeCodec,
      {key: Buffer.from('health'), count_only: true},
      timeoutMs,
    )
  }

  memberList(endpoint?: EndpointSpec) {
    return endpoint
      ? this.unaryOn(endpoint, '/etcdserverpb.Cluster/MemberList', memberListCodec, {linearizable: true})
      : this.unary('/etcdserverpb.Cluster/MemberList', memberListCodec, {linearizable: true})
  }

  alarms(endpoint?: EndpointSpec) {
    const req = {action: 0}
    return endpoint
      ? this.unaryOn(endpoint, '/etcdserverpb.Maintenance/Alarm', alarmCodec, req)
      : this.unary('/etcdserverpb.Maintenance/Alarm', alarmCodec, req)
  }

  /** Must be sent to the current leader. */
  moveLeader(leader: EndpointSpec, targetIdHex: string) {
    return this.unaryOn(
      leader,
      '/etcdserverpb.Maintenance/MoveLeader',
      moveLeaderCodec,
      {targetID: idLong(targetIdHex)},
      Math.max(this.opts.commandTimeoutMs, 10_000),
    )
  }

  /** Defragments one member (it stalls while defragmenting: do followers first, the leader last). */
  defragment(endpoint: EndpointSpec, timeoutMs = 120_000) {
    return this.unaryOn(endpoint, '/etcdserverpb.Maintenance/Defragment', defragmentCodec, {}, timeoutMs)
  }

  /**
   * Membership changes. With an endpoint (the leader), the call goes there only: the server's own
   * refusal (e.g. UNAVAILABLE "unhealthy cluster" from its strict reconfiguration check) then reaches
   * the caller instead of being taken for an unreachable endpoint and failed over.
   */
  memberAdd(peerURLs: string[], isLearner: boolean, endpoint?: EndpointSpec) {
    const req = {peerURLs, isLearner}
    return endpoint
      ? this.unaryOn(endpoint, '/etcdserverpb.Cluster/MemberAdd', memberAddCodec, req)
      : this.unary('/etcdserverpb.Cluster/MemberAdd', memberAddCodec, req, {retry: false})
  }

  memberRemove(idHex: string, endpoint?: EndpointSpec) {
    const req = {ID: idLong(idHex)}
    return endpoint
      ? this.unaryOn(endpoint, '/etcdserverpb.Cluster/MemberRemove', memberRemoveCodec, req)
      : this.unary('/etcdserverpb.Cluster/MemberRemove', memberRemoveCodec, req, {retry: false})
  }

  memberPromote(idHex: string, endpoint?: EndpointSpec) {
    const req = {ID: idLong(idHex)}
    return endpoint
      ? this.unaryOn(endpoint, '/etcdserverpb.Cluster/MemberPromote', memberPromoteCodec, req)
      : this.unary('/etcdserverpb.Cluster/MemberPromote', memberPromoteCodec, req, {retry: false})
  }

  get(key: string, opts: Omit<RangeRequest, 'key'> = {}) {
    return this.unary('/etcdserverpb.KV/Range', rangeCodec, {key: Buffer.from(key), ...opts})
  }

  /** All keys under a prefix. */
  getPrefix(prefix: string, opts: Omit<RangeRequest, 'key' | 'range_end'> = {}) {
    return this.unary('/etcdserverpb.KV/Range', rangeCodec, {
      key: Buffer.from(prefix),
      range_end: prefixEnd(Buffer.from(prefix)),
      ...opts,
    })
  }

  put(key: string, value: string | Buffer) {
    return this.unary(
      '/etcdserverpb.KV/Put',
      putCodec,
      {key: Buffer.from(key), value: Buffer.from(value)},
      {retry: false},
    )
  }

  /** Deletes exactly KEY (not the keys it prefixes). */
  deleteKey(key: string) {
    return this.unary('/etcdserverpb.KV/DeleteRange', deleteRangeCodec, {key: Buffer.from(key)}, {retry: false})
  }

  deletePrefix(prefix: string) {
    return this.unary(
      '/etcdserverpb.KV/DeleteRange',
      deleteRangeCodec,
      {key: Buffer.from(prefix), range_end: prefixEnd(Buffer.from(prefix))},
      {retry: false},
    )
  }

  leaseGrant(ttlSeconds: number) {
    return this.unary('/etcdserverpb.Lease/LeaseGrant', leaseGrantCodec, {TTL: ttlSeconds}, {retry: false})
  }

  leaseRevoke(idHex: string) {
    return this.unary('/etcdserverpb.Lease/LeaseRevoke', leaseRevokeCodec, {ID: idLong(idHex)})
  }

  /**
   * Keeps a lease alive until stop() is called: one bidirectional stream, a refresh every third of
   * the TTL. onLost is called if the lease cannot be refreshed (the holder must then stop).
   */
  keepAlive(idHex: string, ttlSeconds: number, onLost: (reason: string) => void): {stop: () => void} {
    const method = '/etcdserverpb.Lease/LeaseKeepAlive'
    let stopped = false
    let call: grpc.ClientDuplexStream<{ID: ReturnType<typeof idLong>}, {id: string; ttl: number}> | undefined
    let lastOk = Date.now()
    const open = () => {
      const endpoint = this.opts.endpoints[this.preferred]
      const c = this.client(endpoint).makeBidiStreamRequest(
        method,
        leaseKeepAliveCodec.serialize,
        leaseKeepAliveCodec.deserialize,
      )
      call = c
      c.on('data', (res) => {
        if (res.ttl <= 0) {
          if (!stopped) onLost('lease expired')
          stopped = true
        } else lastOk = Date.now()
      })
      c.on('error', () => {
        if (call === c) call = undefined
      })
    }
    const timer = setInterval(
      () => {
        if (stopped) return
        if (Date.now() - lastOk > ttlSeconds * 1000) {
          stopped = true
          clearInterval(timer)
          onLost('lease could not be refreshed within its TTL')
          return
        }
        if (!call) {
          this.preferred = (this.preferred + 1) % this.opts.endpoints.length
          open()
        }
        call?.write({ID: idLong(idHex)})
      },
      Math.max(500, (ttlSeconds * 1000) / 3),
    )
    timer.unref()
    open()
    call?.write({ID: idLong(idHex)})
    return {
      stop: () => {
        stopped = true
        clearInterval(timer)
        call?.end()
        call?.cancel()
      },
    }
  }

  /** Puts key=value (bound to a lease) only if the key does not exist; else returns the current holder. */
  putIfAbsent(key: string, value: string, leaseHex?: string) {
    return this.unary(
      '/etcdserverpb.KV/Txn',
      txnPutIfAbsentCodec,
      {key: Buffer.from(key), value: Buffer.from(value), lease: leaseHex ? idLong(leaseHex) : undefined},
      {retry: false},
    )
  }

  deleteIfLease(key: string, leaseHex: string) {
    return this.unary(
      '/etcdserverpb.KV/Txn',
      txnDeleteIfLeaseCodec,
      {key: Buffer.from(key), lease: idLong(leaseHex)},
      {retry: false},
    )
  }

  /** A put on one member only: no retry, no failover (a drill's client records each attempt as it went). */
  putOn(endpoint: EndpointSpec, key: string, value: string, timeoutMs?: number) {
    return this.unaryOn(
      endpoint,
      '/etcdserverpb.KV/Put',
      putCodec,
      {key: Buffer.from(key), value: Buffer.from(value)},
      timeoutMs,
    )
  }

  /** A linearizable read of one key on one member only (no retry, no failover). */
  getOn(endpoint: EndpointSpec, key: string, timeoutMs?: number) {
    return this.unaryOn(endpoint, '/etcdserverpb.KV/Range', rangeCodec, {key: Buffer.from(key)}, timeoutMs)
  }

  /** Compare-and-set on one member only: puts TO if the key holds FROM; `succeeded` says whether it applied. */
  casOn(endpoint: EndpointSpec, key: string, from: string, to: string, timeoutMs?: number) {
    return this.unaryOn(
      endpoint,
      '/etcdserverpb.KV/Txn',
      txnCasCodec,
      {key: Buffer.from(key), from: Buffer.from(from), to: Buffer.from(to)},
      timeoutMs,
    )
  }

  /** The snapshot stream of one member: a Readable of chunks that respects backpressure. */
  snapshot(endpoint: EndpointSpec): grpc.ClientReadableStream<SnapshotChunk> {
    return this.client(endpoint).makeServerStreamRequest(
      '/etcdserverpb.Maintenance/Snapshot',
      snapshotCodec.serialize,
      snapshotCodec.deserialize,
      {},
    )
  }

  /**
   * Live key count and revision: read locally on one member (needs no quorum) or, without an
   * endpoint, linearizably from the cluster. Keys under excludePrefix are not counted. With
   * atRevision, the keys that were live at that revision (a count that later writes never change).
   */
  async keyCount(
    endpoint?: EndpointSpec,
    excludePrefix?: string,
    atRevision?: number,
  ): Promise<{count: number; revision: number}> {
    const count = (req: RangeRequest) =>
      endpoint
        ? this.unaryOn(endpoint, '/etcdserverpb.KV/Range', rangeCodec, {...req, serializable: true})
        : this.unary('/etcdserverpb.KV/Range', rangeCodec, req)
    const all = await count({
      key: Buffer.from([0]),
      range_end: Buffer.from([0]),
      count_only: true,
      revision: atRevision,
    })
    const revision = atRevision ?? all.header.revision
    if (!excludePrefix) return {count: all.count, revision}
    const prefix = Buffer.from(excludePrefix)
    const excluded = await count({key: prefix, range_end: prefixEnd(prefix), count_only: true, revision})
    return {count: all.count - excluded.count, revision}
  }

  /** HashKV of one member at REVISION (0: the latest); fails when the revision was compacted. */
  hashKV(endpoint: EndpointSpec, revision: number, timeoutMs = 30_000) {
    return this.unaryOn(endpoint, '/etcdserverpb.Maintenance/HashKV', hashKVCodec, {revision}, timeoutMs)
  }

  compact(revision: number) {
    return this.unary('/etcdserverpb.KV/Compact', compactionCodec, {revision, physical: true}, {retry: false})
  }

  /**
   * A watch that survives member failures: one Watch bidi stream at a time; when it breaks it
   * reconnects to the next endpoint with exponential backoff and resumes from the revision after
   * the last one it delivered, dropping anything already delivered (no duplicates, no gaps). A
   * compacted start revision is yielded as an explicit gap and the watch continues from the oldest
   * revision still kept. Ends when the signal aborts.
   */
  async *watch(opts: WatchOptions): AsyncGenerator<WatchItem> {
    const n = this.opts.endpoints.length
    let idx = this.preferred
    /** The next revision to deliver; undefined until the first stream tells us "now". */
    let next = opts.startRevision && opts.startRevision > 0 ? opts.startRevision : undefined
    let failures = 0
    const base = opts.backoffMs ?? 100
    const cap = opts.maxBackoffMs ?? 5000
    while (!opts.signal.aborted) {
      const endpoint = this.opts.endpoints[idx]
      // hasleader: a member cut off from the leader cancels the watch instead of going silent.
      const md = new grpc.Metadata()
      md.set('hasleader', 'true')
      const call: grpc.ClientDuplexStream<WatchRequestMsg, WatchResponseMsg> = this.client(
        endpoint,
      ).makeBidiStreamRequest('/etcdserverpb.Watch/Watch', watchCodec.serialize, watchCodec.deserialize, md)
      const onAbort = () => call.cancel()
      opts.signal.addEventListener('abort', onAbort, {once: true})
      const from = next
      let error = 'stream ended'
      let reopenNow = false
      try {
        call.write({
          create_request: {key: opts.key, range_end: opts.rangeEnd, start_revision: from ?? 0, progress_notify: true},
        })
        for await (const msg of call as AsyncIterable<WatchResponseMsg>) {
          if (msg.compactRevision > 0) {
            const wanted = next ?? msg.compactRevision
            yield {type: 'gap', fromRevision: wanted, compactRevision: msg.compactRevision}
            next = msg.compactRevision
            reopenNow = true
            break
          }
          if (msg.canceled) {
            error = `watch canceled by the server${msg.cancelReason ? `: ${msg.cancelReason}` : ''}`
            break
          }
          if (msg.created) {
            failures = 0
            this.preferred = idx
            next ??= msg.header.revision + 1
            yield {type: 'connected', endpoint: endpoint.name, url: endpoint.url, fromRevision: next}
            continue
          }
          // Only events not delivered before this stream started (the resume point) pass.
          const fresh = from === undefined ? msg.events : msg.events.filter((e) => e.kv.modRevision >= from)
          if (fresh.length > 0) {
            const revision = fresh.at(-1)!.kv.modRevision
            next = revision + 1
            yield {type: 'events', events: fresh, revision}
          } else if (msg.events.length === 0 && next !== undefined && msg.header.revision >= next) {
            next = msg.header.revision + 1
            yield {type: 'progress', revision: msg.header.revision}
          }
        }
      } catch (err) {
        const e = err as grpc.ServiceError
        error = `${grpc.status[e.code] ?? e.code ?? ''}: ${e.details || e.message}`
      } finally {
        opts.signal.removeEventListener('abort', onAbort)
        call.cancel()
      }
      if (opts.signal.aborted) return
      if (reopenNow) continue
      const retryInMs = Math.round(backoffDelay(failures, base, cap))
      failures++
      yield {type: 'disconnected', endpoint: endpoint.name, error, retryInMs}
      idx = (idx + 1) % n
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, retryInMs)
        function done() {
          clearTimeout(t)
          opts.signal.removeEventListener('abort', done)
          resolve()
        }
        opts.signal.addEventListener('abort', done, {once: true})
      })
    }
  }

  close(): void {
    this.closes++
    for (const c of this.clients.values()) c.close()
    this.clients.clear()
  }
}

/** The etcd range end that covers every key starting with prefix. */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix)
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++
      return end.subarray(0, i + 1)
    }
  }
  return Buffer.from([0])
}
