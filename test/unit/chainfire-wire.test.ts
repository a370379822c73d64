import assert from 'node:assert/strict'
import {createRequire} from 'node:module'
import {describe, it} from 'node:test'
import Long from 'long'
import {alarmCodec, memberListCodec, rangeCodec, statusCodec} from '../../src/adapters/chainfire/codec.js'
import {readFields} from '../../src/adapters/chainfire/wire.js'

// The generated protobufjs codecs are the reference the hand-written wire codecs must agree with.
type Msg = {encode(m: unknown): {finish(): Uint8Array}; decode(b: Uint8Array): Record<string, unknown>}
const pb = (
  createRequire(import.meta.url)('../../src/adapters/chainfire/gen/etcd.cjs') as {etcdserverpb: Record<string, Msg>}
).etcdserverpb
const enc = (type: string, m: unknown) => Buffer.from(pb[type].encode(m).finish())
const dec = (type: string, b: Buffer) => pb[type].decode(b)

const BIG = Long.fromString('fedcba9876543210', true, 16)
const header = {
  cluster_id: BIG,
  member_id: Long.fromString('8e9e05c52164694d', true, 16),
  revision: Long.fromNumber(2 ** 40 + 7),
  raft_term: Long.fromNumber(12),
}
const HEADER = {clusterId: 'fedcba9876543210', memberId: '8e9e05c52164694d', revision: 2 ** 40 + 7, raftTerm: 12}

describe('hand-written wire codecs agree with the generated protobuf codecs', () => {
  it('StatusResponse: every field, 64-bit ids exact', () => {
    const buf = enc('StatusResponse', {
      header,
      version: '3.5.9',
      dbSize: Long.fromNumber(5 * 2 ** 30),
      leader: BIG,
      raftIndex: 99,
      raftTerm: 12,
      raftAppliedIndex: 98,
      errors: ['NOSPACE', 'x'],
      dbSizeInUse: 4096,
      isLearner: true,
    })
    assert.deepEqual(statusCodec.deserialize(buf), {
      header: HEADER,
      version: '3.5.9',
      dbSize: 5 * 2 ** 30,
      dbSizeInUse: 4096,
      leader: 'fedcba9876543210',
      raftIndex: 99,
      raftTerm: 12,
      raftAppliedIndex: 98,
      errors: ['NOSPACE', 'x'],
      isLearner: true,
    })
    // Absent fields decode to proto3 defaults.
    assert.deepEqual(statusCodec.deserialize(Buffer.alloc(0)).leader, '0')
    assert.equal(statusCodec.serialize({}).length, 0)
  })

  it('MemberList: request flag and repeated members with repeated URLs', () => {
    assert.equal(dec('MemberListRequest', memberListCodec.serialize({linearizable: true})).linearizable, true)
    assert.equal(memberListCodec.serialize({}).length, 0)
    const buf = enc('MemberListResponse', {
      header,
      members: [
        {
          ID: BIG,
          name: 'n1',
          peerURLs: ['http://a:2380'],
          clientURLs: ['http://a:2379', 'http://a:22379'],
          isLearner: false,
        },
        {ID: Long.fromNumber(1, true), name: '', peerURLs: ['http://b:2380'], clientURLs: [], isLearner: true},
      ],
    })
    assert.deepEqual(memberListCodec.deserialize(buf), {
      header: HEADER,
      members: [
        {
          id: 'fedcba9876543210',
          name: 'n1',
          peerURLs: ['http://a:2380'],
          clientURLs: ['http://a:2379', 'http://a:22379'],
          isLearner: false,
        },
        {id: '1', name: '', peerURLs: ['http://b:2380'], clientURLs: [], isLearner: true},
      ],
    })
  })

  it('Alarm: request with a 64-bit member id, response alarms by name', () => {
    const req = dec('AlarmRequest', alarmCodec.serialize({action: 2, memberID: BIG, alarm: 1}))
    assert.equal(req.action, 2)
    assert.equal(
      Long.fromValue(req.memberID as Long)
        .toUnsigned()
        .toString(16),
      'fedcba9876543210',
    )
    assert.equal(req.alarm, 1)
    const buf = enc('AlarmResponse', {
      header,
      alarms: [
        {memberID: BIG, alarm: 1},
        {memberID: Long.fromNumber(3, true), alarm: 2},
      ],
    })
    assert.deepEqual(alarmCodec.deserialize(buf), {
      header: HEADER,
      alarms: [
        {memberId: 'fedcba9876543210', alarm: 'NOSPACE'},
        {memberId: '3', alarm: 'CORRUPT'},
      ],
    })
  })

  it('Range: every request field, kvs with binary keys and values', () => {
    const key = Buffer.from([0, 1, 0xff, 0x2f])
    const req = dec(
      'RangeRequest',
      rangeCodec.serialize({
        key,
        range_end: Buffer.from([0]),
        limit: 300,
        revision: 2 ** 33,
        serializable: true,
        keys_only: true,
        count_only: true,
      }),
    )
    assert.deepEqual(Buffer.from(req.key as Uint8Array), key)
    assert.deepEqual(Buffer.from(req.range_end as Uint8Array), Buffer.from([0]))
    assert.equal(Number(req.limit), 300)
    assert.equal(Number(req.revision), 2 ** 33)
    assert.deepEqual([req.serializable, req.keys_only, req.count_only], [true, true, true])
    const buf = enc('RangeResponse', {
      header,
      kvs: [
        {
          key,
          create_revision: 5,
          mod_revision: Long.fromNumber(2 ** 35),
          version: 3,
          value: Buffer.alloc(70_000, 7),
          lease: Long.fromString('694d7a0f8c3b2e11', false, 16),
        },
      ],
      more: true,
      count: 42,
    })
    const r = rangeCodec.deserialize(buf)
    assert.deepEqual(r.header, HEADER)
    assert.deepEqual([r.more, r.count, r.kvs.length], [true, 42, 1])
    assert.deepEqual(r.kvs[0].key, key)
    assert.deepEqual(r.kvs[0].value, Buffer.alloc(70_000, 7))
    assert.deepEqual([r.kvs[0].createRevision, r.kvs[0].modRevision, r.kvs[0].version], [5, 2 ** 35, 3])
    assert.equal(r.kvs[0].lease, Number(Long.fromString('694d7a0f8c3b2e11', false, 16).toString()))
  })

  it('refuses a truncated message instead of inventing values', () => {
    const buf = enc('StatusResponse', {header, version: '3.5.9'})
    assert.throws(() => readFields(buf.subarray(0, buf.length - 2)), /truncated/)
  })
})
