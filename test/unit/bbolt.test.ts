import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {BBOLT_MAGIC, checkBboltStructure, decodeMeta, fnv1a64} from '../../src/services/snapshot/bbolt.js'

/** A meta page as bbolt writes one (little-endian; checksum over the 56 bytes before it). */
function metaPage(
  page: number,
  {pgid = 4n, root = 3n, freelist = 2n, txid = 7n, pageSize = 4096, magic = BBOLT_MAGIC} = {},
): Buffer {
  const b = Buffer.alloc(pageSize)
  b.writeBigUInt64LE(BigInt(page), 0)
  b.writeUInt16LE(0x04, 8)
  b.writeUInt32LE(magic, 16)
  b.writeUInt32LE(2, 20)
  b.writeUInt32LE(pageSize, 24)
  b.writeBigUInt64LE(root, 32)
  b.writeBigUInt64LE(freelist, 48)
  b.writeBigUInt64LE(pgid, 56)
  b.writeBigUInt64LE(txid, 64)
  b.writeBigUInt64LE(fnv1a64(b.subarray(16, 72)), 72)
  return b
}

describe('bbolt structure', () => {
  it('FNV-1a 64 matches the published test values', () => {
    assert.equal(fnv1a64(Buffer.from('')), 0xcbf29ce484222325n)
    assert.equal(fnv1a64(Buffer.from('a')), 0xaf63dc4c8601ec8cn)
    assert.equal(fnv1a64(Buffer.from('foobar')), 0x85944171f73967e8n)
  })

  it('a whole database passes; the newest meta page decides how many pages it needs', () => {
    const db = Buffer.concat([
      metaPage(0, {txid: 8n, pgid: 4n}),
      metaPage(1, {txid: 7n, pgid: 3n, root: 2n}),
      Buffer.alloc(2 * 4096),
    ])
    const checks = checkBboltStructure(db, db.length)
    assert.deepEqual(
      checks.map((c) => [c.check, c.ok]),
      [
        ['bbolt-meta', true],
        ['bbolt-pages', true],
      ],
    )
    assert.match(checks[1].detail, /all 4 pages of 4096 bytes that meta page 0 references/)
  })

  it('a database cut short of the pages its meta page references fails', () => {
    const db = Buffer.concat([metaPage(0, {pgid: 6n}), metaPage(1, {pgid: 6n, txid: 6n}), Buffer.alloc(2 * 4096)])
    const pages = checkBboltStructure(db, db.length).find((c) => c.check === 'bbolt-pages')
    assert.equal(pages?.ok, false)
    assert.match(
      pages!.detail,
      /references 6 pages of 4096 bytes \(24576 bytes\) but the database is 16384 bytes \(truncated\)/,
    )
  })

  it('a meta page with a wrong checksum, magic or root past the high-water mark is invalid', () => {
    const bad = metaPage(0)
    bad[40] ^= 1
    assert.equal(decodeMeta(bad, 0).error, 'checksum mismatch')
    assert.match(decodeMeta(metaPage(0, {magic: 0xbeefc0de}), 0).error!, /bad magic/)
    assert.match(
      decodeMeta(metaPage(0, {root: 9n, pgid: 4n}), 0).error!,
      /root bucket page 9 is past the high-water mark 4/,
    )
    const db = Buffer.concat([bad, metaPage(1), Buffer.alloc(2 * 4096)])
    const meta = checkBboltStructure(db, db.length)[0]
    assert.equal(meta.ok, false)
    assert.match(meta.detail, /meta page 0: checksum mismatch; meta page 1: ok/)
  })

  it('a file that is not bbolt at all fails without throwing', () => {
    const checks = checkBboltStructure(Buffer.from('not a database'), 14)
    assert.deepEqual(
      checks.map((c) => [c.check, c.ok]),
      [['bbolt-meta', false]],
    )
  })
})
