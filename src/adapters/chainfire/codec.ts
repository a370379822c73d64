import Long from 'long'
import {etcdserverpb} from './gen/etcd.js'

/**
 * Typed views of the etcd v3 messages plasmactl uses. The generated static codecs decode 64-bit
 * integers as Long; ids become hex strings (as etcdctl prints them: exact, never rounded through a
 * double) and counters become numbers.
 */
export interface Codec<Req, Res> {
  serialize(req: Req): Buffer
  deserialize(buf: Buffer): Res
}

type Msg = {encode(m: unknown): {finish(): Uint8Array}; decode(b: Uint8Array): Record<string, unknown>}

export function codec<Req, Res>(reqType: Msg, resType: Msg, map: (raw: Record<string, unknown>) => Res): Codec<Req, Res> {
  return {
    serialize: (req) => Buffer.from(reqType.encode(req).finish()),
    deserialize: (buf) => map(resType.decode(buf)),
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
  return {clusterId: idHex(h.cluster_id), memberId: idHex(h.member_id), revision: num(h.revision), raftTerm: num(h.raft_term)}
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

export const statusCodec = codec<Record<string, never>, StatusResponse>(etcdserverpb.StatusRequest, etcdserverpb.StatusResponse, (r) => ({
  header: header(r.header),
  version: String(r.version ?? ''),
  dbSize: num(r.dbSize),
  dbSizeInUse: num(r.dbSizeInUse),
  leader: idHex(r.leader),
  raftIndex: num(r.raftIndex),
  raftTerm: num(r.raftTerm),
  raftAppliedIndex: num(r.raftAppliedIndex),
  errors: (r.errors as string[] | undefined) ?? [],
  isLearner: Boolean(r.isLearner),
}))

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

export const memberListCodec = codec<{linearizable?: boolean}, MemberListResponse>(etcdserverpb.MemberListRequest, etcdserverpb.MemberListResponse, (r) => ({
  header: header(r.header),
  members: ((r.members as Record<string, unknown>[] | undefined) ?? []).map(member),
}))

export interface MemberAddResponse {
  header: ResponseHeader
  member: Member
  members: Member[]
}

export const memberAddCodec = codec<{peerURLs: string[]; isLearner?: boolean}, MemberAddResponse>(etcdserverpb.MemberAddRequest, etcdserverpb.MemberAddResponse, (r) => ({
  header: header(r.header),
  member: member((r.member ?? {}) as Record<string, unknown>),
  members: ((r.members as Record<string, unknown>[] | undefined) ?? []).map(member),
}))

export const memberRemoveCodec = codec<{ID: Long}, MemberListResponse>(etcdserverpb.MemberRemoveRequest, etcdserverpb.MemberRemoveResponse, (r) => ({
  header: header(r.header),
  members: ((r.members as Record<string, unknown>[] | undefined) ?? []).map(member),
}))

export const memberPromoteCodec = codec<{ID: Long}, MemberListResponse>(etcdserverpb.MemberPromoteRequest, etcdserverpb.MemberPromoteResponse, (r) => ({
  header: header(r.header),
  members: ((r.members as Record<string, unknown>[] | undefined) ?? []).map(member),
}))

export const ALARM_TYPES = ['NONE', 'NOSPACE', 'CORRUPT'] as const
export type AlarmType = (typeof ALARM_TYPES)[number]

export interface AlarmResponse {
  header: ResponseHeader
  alarms: {memberId: string; alarm: AlarmType}[]
}

export const alarmCodec = codec<{action: number; memberID?: Long; alarm?: number}, AlarmResponse>(etcdserverpb.AlarmRequest, etcdserverpb.AlarmResponse, (r) => ({
  header: header(r.header),
  alarms: ((r.alarms as Record<string, unknown>[] | undefined) ?? []).map((a) => ({
    memberId: idHex(a.memberID),
    alarm: ALARM_TYPES[num(a.alarm)] ?? 'NONE',
  })),
}))

/** Maintenance.Defragment: compacts one member's backend file (blocks that member while it runs). */
export const defragmentCodec = codec<Record<string, never>, {header: ResponseHeader}>(etcdserverpb.DefragmentRequest, etcdserverpb.DefragmentResponse, (r) => ({
  header: header(r.header),
}))

export const moveLeaderCodec = codec<{targetID: Long}, {header: ResponseHeader}>(etcdserverpb.MoveLeaderRequest, etcdserverpb.MoveLeaderResponse, (r) => ({
  header: header(r.header),
}))

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

export const rangeCodec = codec<RangeRequest, RangeResponse>(etcdserverpb.RangeRequest, etcdserverpb.RangeResponse, (r) => ({
  header: header(r.header),
  kvs: ((r.kvs as Record<string, unknown>[] | undefined) ?? []).map(keyValue),
  more: Boolean(r.more),
  count: num(r.count),
}))

export const putCodec = codec<{key: Uint8Array; value: Uint8Array; lease?: Long}, {header: ResponseHeader}>(etcdserverpb.PutRequest, etcdserverpb.PutResponse, (r) => ({
  header: header(r.header),
}))

export const deleteRangeCodec = codec<{key: Uint8Array; range_end?: Uint8Array}, {header: ResponseHeader; deleted: number}>(
  etcdserverpb.DeleteRangeRequest,
  etcdserverpb.DeleteRangeResponse,
  (r) => ({header: header(r.header), deleted: num(r.deleted)}),
)

export interface LeaseGrantResponse {
  header: ResponseHeader
  id: string
  ttl: number
  error: string
}

export const leaseGrantCodec = codec<{TTL: number; ID?: number}, LeaseGrantResponse>(etcdserverpb.LeaseGrantRequest, etcdserverpb.LeaseGrantResponse, (r) => ({
  header: header(r.header),
  id: idHex(r.ID),
  ttl: num(r.TTL),
  error: String(r.error ?? ''),
}))

export const leaseRevokeCodec = codec<{ID: Long}, {header: ResponseHeader}>(etcdserverpb.LeaseRevokeRequest, etcdserverpb.LeaseRevokeResponse, (r) => ({
  header: header(r.header),
}))

export const leaseKeepAliveCodec = codec<{ID: Long}, {id: string; ttl: number}>(etcdserverpb.LeaseKeepAliveRequest, etcdserverpb.LeaseKeepAliveResponse, (r) => ({
  id: idHex(r.ID),
  ttl: num(r.TTL),
}))

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
      etcdserverpb.TxnRequest.encode({
        compare: [{result: 0, target: 1, key: req.key, create_revision: 0}],
        success: [{request_put: {key: req.key, value: req.value, lease: req.lease}}],
        failure: [{request_range: {key: req.key}}],
      }).finish(),
    ),
  deserialize: (buf) => {
    const r = etcdserverpb.TxnResponse.decode(buf) as Record<string, unknown>
    const first = ((r.responses as Record<string, unknown>[] | undefined) ?? [])[0]?.response_range as Record<string, unknown> | undefined
    return {
      header: header(r.header),
      succeeded: Boolean(r.succeeded),
      kvs: ((first?.kvs as Record<string, unknown>[] | undefined) ?? []).map(keyValue),
    }
  },
}

/** Delete key only if it still carries our lease (so we never delete someone else's lock). */
export const txnDeleteIfLeaseCodec: Codec<{key: Buffer; lease: Long}, {succeeded: boolean}> = {
  serialize: (req) =>
    Buffer.from(
      etcdserverpb.TxnRequest.encode({
        compare: [{result: 0, target: 4, key: req.key, lease: req.lease}],
        success: [{request_delete_range: {key: req.key}}],
        failure: [],
      }).finish(),
    ),
  deserialize: (buf) => ({succeeded: Boolean((etcdserverpb.TxnResponse.decode(buf) as Record<string, unknown>).succeeded)}),
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
  const h = etcdserverpb.ResponseHeader.decode(buf) as Record<string, unknown>
  return num(h.revision)
}

export const compactionCodec = codec<{revision: number; physical?: boolean}, {header: ResponseHeader}>(etcdserverpb.CompactionRequest, etcdserverpb.CompactionResponse, (r) => ({
  header: header(r.header),
}))

export interface WatchCreate {
  key: Uint8Array
  range_end?: Uint8Array
  /** 0 = from now. */
  start_revision?: number
  progress_notify?: boolean
  prev_kv?: boolean
}

export type WatchRequestMsg = {create_request: WatchCreate} | {cancel_request: {watch_id: number}} | {progress_request: Record<string, never>}

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

export const watchCodec: Codec<WatchRequestMsg, WatchResponseMsg> = codec(etcdserverpb.WatchRequest, etcdserverpb.WatchResponse, (r) => ({
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
