import {createRequire} from 'node:module'
import Long from 'long'
import {Message, Writer} from './wire.js'

type Msg = {encode(m: unknown): {finish(): Uint8Array}; decode(b: Uint8Array): Record<string, unknown>}
type Generated = Record<string, Msg>

let generated: Generated | undefined
/**
 * The generated static codecs (protobufjs), loaded on first use: the messages of a health check
 * are encoded by hand (wire.ts), so read-only commands never load them.
 */
function pb(): Generated {
  generated ??= (createRequire(import.meta.url)('./gen/etcd.cjs') as {etcdserverpb: Generated}).etcdserverpb
  return generated
}

/**
 * Typed views of the etcd v3 messages plasmactl uses. The generated static codecs decode 64-bit
 * integers as Long; ids become hex strings (as etcdctl prints them: exact, never rounded through a
 * double) and counters become numbers.
 */
export interface Codec<Req, Res> {
  serialize(req: Req): Buffer
  deserialize(buf: Buffer): Res
}

/** A codec over two generated message types, named as in etcdserverpb (resolved on first use). */
export function codec<Req, Res>(
  reqType: string,
  resType: string,
  map: (raw: Record<string, unknown>) => Res,
): Codec<Req, Res> {
  return {
    serialize: (req) => Buffer.from(pb()[reqType].encode(req).finish()),
    deserialize: (buf) => map(pb()[resType].decode(buf)),
  }
}

export function idHex(v: unknown): string {
  if (v === undefined || v === null) return '0'
  if (Long.isLong(v)) return Long.fromValue(v).toUnsigned().toString(16)
  return BigInt(v as number | string).toString(16)
}

export function num(v: unknown): number {
  if (v === undefined || v === null) return 0
  if (Long.isLong(v)) return Number(Long.fromValue(v).toString())
  return Number(v)
}

export function idLong(hex: string): Long {
  return Long.fromString(hex, true, 16)
}

export interface ResponseHeader {
  clusterId: string
  memberId: string
  revision: number
  raftTerm: number
}

function header(raw: unknown): ResponseHeader {
  const h = (raw ?? {}) as Record<string, unknown>
  return {
    clusterId: idHex(h.cluster_id),
    memberId: idHex(h.member_id),
    revision: num(h.revision),
    raftTerm: num(h.raft_term),
  }
}

/** ResponseHeader from the wire: cluster_id 1, member_id 2, revision 3, raft_term 4. */
function wireHeader(m: Message): ResponseHeader {
  return {clusterId: m.hex(1), memberId: m.hex(2), revision: m.num(3), raftTerm: m.num(4)}
}

export interface StatusResponse {
  header: ResponseHeader
  version: string
  dbSize: number
  dbSizeInUse: number
  leader: string
  raftIndex: number
  raftTerm: number
  raftAppliedIndex: number
  errors: string[]
  isLearner: boolean
}

export const statusCodec: Codec<Record<string, never>, StatusResponse> = {
  serialize: () => Buffer.alloc(0),
  deserialize: (buf) => {
    const r = new Message(buf)
    return {
      header: wireHeader(r.message(1)),
      version: r.str(2),
      dbSize: r.num(3),
      dbSizeInUse: r.num(9),
      leader: r.hex(4),
      raftIndex: r.num(5),
      raftTerm: r.num(6),
      raftAppliedIndex: r.num(7),
      errors: r.repeatedBytes(8).map((b) => b.toString('utf8')),
      isLearner: r.bool(10),
    }
  },
}

export interface Member {
  id: string
  name: string
  peerURLs: string[]
  clientURLs: string[]
  isLearner: boolean
}

function member(raw: Record<string, unknown>): Member {
  return {
    id: idHex(raw.ID),
    name: String(raw.name ?? ''),
    peerURLs: (raw.peerURLs as string[] | undefined) ?? [],
    clientURLs: (raw.clientURLs as string[] | undefined) ?? [],
    isLearner: Boolean(raw.isLearner),
  }
}

export interface MemberListResponse {
  header: ResponseHeader
  members: Member[]
}

/** Member from the wire: ID 1, name 2, peerURLs 3, clientURLs 4, isLearner 5. */
function wireMember(buf: Buffer): Member {
  const m = new Message(buf)
  return {
    id: m.hex(1),
    name: m.str(2),
    peerURLs: m.repeatedBytes(3).map(String),
    clientURLs: m.repeatedBytes(4).map(String),
    isLearner: m.bool(5),
  }
}

export const memberListCodec: Codec<{linearizable?: boolean}, MemberListResponse> = {
  serialize: (req) => new Writer().bool(1, req.linearizable).finish(),
  deserialize: (buf) => {
    const r = new Message(buf)
    return {header: wireHeader(r.message(1)), members: r.repeatedBytes(2).map(wireMember)}
  },
}

export interface MemberAddResponse {
  header: ResponseHeader
  member: Member
  members: Member[]
}

export const memberAddCodec = codec<{peerURLs: string[]; isLearner?: boolean}, MemberAddResponse>(
  'MemberAddRequest',
  'MemberAddResponse',
  (r) => ({
    header: header(r.header),
    member: member((r.member ?? {}) as Record<string, unknown>),
    members: ((r.members as Record<string, unknown>[] | undefined) ?? []).map(member),
  }),
)

export const memberRemoveCodec = codec<{ID: Long}, MemberListResponse>(
  'MemberRemoveRequest',
  'MemberRemoveResponse',
  (r) => ({
    header: header(r.header),
    members: ((r.members as Record<string, unknown>[] | undefined) ?? []).map(member),
  }),
)

export const memberPromoteCodec = codec<{ID: Long}, MemberListResponse>(
  'MemberPromoteRequest',
  'MemberPromoteResponse',
  (r) => ({
    header: header(r.header),
    members: ((r.members as Record<string, unknown>[] | undefined) ?? []).map(member),
  }),
)

export const ALARM_TYPES = ['NONE', 'NOSPACE', 'CORRUPT'] as const
export type AlarmType = (typeof ALARM_TYPES)[number]

export interface AlarmResponse {
  header: ResponseHeader
  alarms: {memberId: string; alarm: AlarmType}[]
}

export const alarmCodec: Codec<{action: number; memberID?: Long; alarm?: number}, AlarmResponse> = {
  serialize: (req) =>
    new Writer()
      .uint(1, req.action)
      .uint(2, req.memberID === undefined ? undefined : BigInt(Long.fromValue(req.memberID).toUnsigned().toString()))
      .uint(3, req.alarm)
      .finish(),
  deserialize: (buf) => {
    const r = new Message(buf)
    return {
      header: wireHeader(r.message(1)),
      alarms: r.repeatedBytes(2).map((b) => {
        const a = new Message(b)
        return {memberId: a.hex(1), alarm: ALARM_TYPES[a.num(2)] ?? 'NONE'}
      }),
    }
  },
}

/** Maintenance.Defragment: compacts one member's backend file (blocks that member while it runs). */
export const defragmentCodec = codec<Record<string, never>, {header: ResponseHeader}>(
  'DefragmentRequest',
  'DefragmentResponse',
  (r) => ({
    header: header(r.header),
  }),
)

export const moveLeaderCodec = codec<{targetID: Long}, {header: ResponseHeader}>(
  'MoveLeaderRequest',
  'MoveLeaderResponse',
  (r) => ({
    header: header(r.header),
  }),
)

export interface KeyValue {
  key: Buffer
  value: Buffer
  createRevision: number
  modRevision: number
  version: number
  lease: number
}

export function keyValue(kv: Record<string, unknown>): KeyValue {
  return {
    key: Buffer.from((kv.key as Uint8Array) ?? []),
    value: Buffer.from((kv.value as Uint8Array) ?? []),
    createRevision: num(kv.create_revision),
    modRevision: num(kv.mod_revision),
    version: num(kv.version),
    lease: num(kv.lease),
  }
}

export interface RangeRequest {
  key: Uint8Array
  range_end?: Uint8Array
  limit?: number
  serializable?: boolean
  keys_only?: boolean
  count_only?: boolean
  revision?: number
}

export interface RangeResponse {
  header: ResponseHeader
  kvs: KeyValue[]
  more: boolean
  count: number
}

/** KeyValue from the wire: key 1, create_revision 2, mod_revision 3, version 4, value 5, lease 6. */
function wireKeyValue(buf: Buffer): KeyValue {
  const m = new Message(buf)
  return {
    key: Buffer.from(m.bytes(1)),
    value: Buffer.from(m.bytes(5)),
    createRevision: m.num(2),
    modRevision: m.num(3),
    version: m.num(4),
    lease: m.num(6),
  }
}

export const rangeCodec: Codec<RangeRequest, RangeResponse> = {
  serialize: (req) =>
    new Writer()
      .bytes(1, req.key)
      .bytes(2, req.range_end)
      .uint(3, req.limit)
      .uint(4, req.revision)
      .bool(7, req.serializable)
      .bool(8, req.keys_only)
      .bool(9, req.count_only)
      .finish(),
  deserialize: (buf) => {
    const r = new Message(buf)
    return {
      header: wireHeader(r.message(1)),
      kvs: r.repeatedBytes(2).map(wireKeyValue),
      more: r.bool(3),
      count: r.num(4),
    }
  },
}

export const putCodec = codec<{key: Uint8Array; value: Uint8Array; lease?: Long}, {header: ResponseHeader}>(
  'PutRequest',
  'PutResponse',
  (r) => ({
    header: header(r.header),
  }),
)

export const deleteRangeCodec = codec<
  {key: Uint8Array; range_end?: Uint8Array},
  {header: ResponseHeader; deleted: number}
>('DeleteRangeRequest', 'DeleteRangeResponse', (r) => ({header: header(r.header), deleted: num(r.deleted)}))

export interface LeaseGrantResponse {
  header: ResponseHeader
  id: string
  ttl: number
  error: string
}

export const leaseGrantCodec = codec<{TTL: number; ID?: number}, LeaseGrantResponse>(
  'LeaseGrantRequest',
  'LeaseGrantResponse',
  (r) => ({
    header: header(r.header),
    id: idHex(r.ID),
    ttl: num(r.TTL),
    error: String(r.error ?? ''),
  }),
)

export const leaseRevokeCodec = codec<{ID: Long}, {header: ResponseHeader}>(
  'LeaseRevokeRequest',
  'LeaseRevokeResponse',
  (r) => ({
    header: header(r.header),
  }),
)

export const leaseKeepAliveCodec = codec<{ID: Long}, {id: string; ttl: number}>(
  'LeaseKeepAliveRequest',
  'LeaseKeepAliveResponse',
  (r) => ({
    id: idHex(r.ID),
    ttl: num(r.TTL),
  }),
)

/** Compare create_revision(key) == 0: the key does not exist. */
export interface TxnPutIfAbsent {
  key: Buffer
  value: Buffer
  lease?: Long
}

export interface TxnResponse {
  header: ResponseHeader
  succeeded: boolean
  /** The kvs of the first range response (the failure branch reads the current holder). */
  kvs: KeyValue[]
}

export const txnPutIfAbsentCodec: Codec<TxnPutIfAbsent, TxnResponse> = {
  serialize: (req) =>
    Buffer.from(
      pb()
        .TxnRequest.encode({
          compare: [{result: 0, target: 1, key: req.key, create_revision: 0}],
          success: [{request_put: {key: req.key, value: req.value, lease: req.lease}}],
          failure: [{request_range: {key: req.key}}],
        })
        .finish(),
    ),
  deserialize: (buf) => {
    const r = pb().TxnResponse.decode(buf) as Record<string, unknown>
    const first = ((r.responses as Record<string, unknown>[] | undefined) ?? [])[0]?.response_range as
      Record<string, unknown> | undefined
    return {
      header: header(r.header),
      succeeded: Boolean(r.succeeded),
      kvs: ((first?.kvs as Record<string, unknown>[] | undefined) ?? []).map(keyValue),
    }
  },
}

/** Compare value(key) == from, then put key=to (a compare-and-set); the failure branch reads the key. */
export const txnCasCodec: Codec<{key: Buffer; from: Buffer; to: Buffer}, TxnResponse> = {
  serialize: (req) =>
    Buffer.from(
      pb()
        .TxnRequest.encode({
          compare: [{result: 0, target: 3, key: req.key, value: req.from}],
          success: [{request_put: {key: req.key, value: req.to}}],
          failure: [{request_range: {key: req.key}}],
        })
        .finish(),
    ),
  deserialize: (buf) => txnPutIfAbsentCodec.deserialize(buf),
}

/** Delete key only if it still carries our lease (so we never delete someone else's lock). */
export const txnDeleteIfLeaseCodec: Codec<{key: Buffer; lease: Long}, {succeeded: boolean}> = {
  serialize: (req) =>
    Buffer.from(
      pb()
        .TxnRequest.encode({
          compare: [{result: 0, target: 4, key: req.key, lease: req.lease}],
          success: [{request_delete_range: {key: req.key}}],
          failure: [],
        })
        .finish(),
    ),
  deserialize: (buf) => ({succeeded: Boolean((pb().TxnResponse.decode(buf) as Record<string, unknown>).succeeded)}),
}

export interface SnapshotChunk {
  revision: number
  remaining: number
  blob: Buffer
}

/**
 * Snapshot chunks are decoded by hand: only the three fields, and the blob stays a view of the
 * received buffer (no copy, no object tree), which keeps a large snapshot's memory flat.
 */
export const snapshotCodec: Codec<Record<string, never>, SnapshotChunk> = {
  serialize: () => Buffer.alloc(0),
  deserialize: (buf) => {
    let pos = 0
    let revision = 0
    let remaining = 0
    let blob: Buffer = Buffer.alloc(0)
    const varint = (): number => {
      let result = 0
      let shift = 1
      for (;;) {
        const b = buf[pos++]
        result += (b & 0x7f) * shift
        if (b < 0x80) return result
        shift *= 128
      }
    }
    while (pos < buf.length) {
      const tag = varint()
      const field = Math.floor(tag / 8)
      const wire = tag & 7
      if (wire === 2) {
        const len = varint()
        const body = buf.subarray(pos, pos + len)
        pos += len
        if (field === 3) blob = body
        else if (field === 1) revision = readHeaderRevision(body)
      } else if (wire === 0) {
        const v = varint()
        if (field === 2) remaining = v
      } else if (wire === 1) pos += 8
      else if (wire === 5) pos += 4
      else throw new Error(`unexpected wire type ${wire} in SnapshotResponse`)
    }
    return {revision, remaining, blob}
  },
}

function readHeaderRevision(buf: Buffer): number {
  return new Message(buf).num(3)
}

export const compactionCodec = codec<{revision: number; physical?: boolean}, {header: ResponseHeader}>(
  'CompactionRequest',
  'CompactionResponse',
  (r) => ({
    header: header(r.header),
  }),
)

/** Maintenance.HashKV: the hash of the MVCC key space up to a revision (compare members or clusters). */
export const hashKVCodec = codec<{revision: number}, {header: ResponseHeader; hash: number; compactRevision: number}>(
  'HashKVRequest',
  'HashKVResponse',
  (r) => ({
    header: header(r.header),
    hash: num(r.hash),
    compactRevision: num(r.compact_revision),
  }),
)

export interface WatchCreate {
  key: Uint8Array
  range_end?: Uint8Array
  /** 0 = from now. */
  start_revision?: number
  progress_notify?: boolean
  prev_kv?: boolean
}

export type WatchRequestMsg =
  {create_request: WatchCreate} | {cancel_request: {watch_id: number}} | {progress_request: Record<string, never>}

export interface WatchEvent {
  type: 'put' | 'delete'
  kv: KeyValue
  prevKv?: KeyValue
}

export interface WatchResponseMsg {
  header: ResponseHeader
  watchId: number
  created: boolean
  canceled: boolean
  /** Set (> 0) when the requested start revision was compacted: the oldest revision still available. */
  compactRevision: number
  cancelReason: string
  fragment: boolean
  events: WatchEvent[]
}

export const watchCodec: Codec<WatchRequestMsg, WatchResponseMsg> = codec('WatchRequest', 'WatchResponse', (r) => ({
  header: header(r.header),
  watchId: num(r.watch_id),
  created: Boolean(r.created),
  canceled: Boolean(r.canceled),
  compactRevision: num(r.compact_revision),
  cancelReason: String(r.cancel_reason ?? ''),
  fragment: Boolean(r.fragment),
  events: ((r.events as Record<string, unknown>[] | undefined) ?? []).map((e) => ({
    type: num(e.type) === 1 ? ('delete' as const) : ('put' as const),
    kv: keyValue((e.kv ?? {}) as Record<string, unknown>),
    ...(e.prev_kv ? {prevKv: keyValue(e.prev_kv as Record<string, unknown>)} : {}),
  })),
}))
