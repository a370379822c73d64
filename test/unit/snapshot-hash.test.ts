import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {describe, it} from 'node:test'
import {SnapshotHasher, TRAILER_BYTES} from '../../src/services/snapshot/hash.js'

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex')

/** A snapshot as etcd streams it: database pages followed by the SHA-256 of those pages. */
function snapshotBytes(pages: number): Buffer {
  const db = randomBytes(pages * 4096)
  return Buffer.concat([db, createHash('sha256').update(db).digest()])
}

/** Feeds BYTES to a hasher in chunks of the given sizes (cycled), as the stream would deliver them. */
function feed(bytes: Buffer, sizes: number[]) {
  const h = new SnapshotHasher()
  for (let pos = 0, i = 0; pos < bytes.length; i++) {
    const n = sizes[i % sizes.length]
    h.update(bytes.subarray(pos, pos + n))
    pos += n
  }
  return h.digest()
}

describe('snapshot hashing while streaming (one SHA-256 pass)', () => {
  const file = snapshotBytes(9)
  const db = file.subarray(0, file.length - TRAILER_BYTES)

  it('gives the whole-file hash, the database hash and a matching trailer, whatever the chunking', () => {
    for (const sizes of [[32 * 1024], [1], [31, 33], [32], [5, 4096, 17, 32, 1], [file.length]]) {
      const d = feed(file, sizes)
      assert.equal(d.size, file.length, String(sizes))
      assert.equal(d.sha256, sha(file), String(sizes))
      assert.equal(d.dbSha256, sha(db), String(sizes))
      assert.equal(d.trailer, file.subarray(-TRAILER_BYTES).toString('hex'))
      assert.equal(d.trailerOk, true, String(sizes))
      assert.equal(d.pageAligned, true)
    }
  })

  it('detects a flipped byte and a truncated stream', () => {
    const flipped = Buffer.from(file)
    flipped[100] ^= 1
    assert.equal(feed(flipped, [4096]).trailerOk, false)
    const cut = file.subarray(0, file.length - 4000)
    const d = feed(cut, [1000])
    assert.equal(d.trailerOk, false)
    assert.equal(d.pageAligned, false)
    assert.equal(d.sha256, sha(cut))
    const tiny = feed(file.subarray(0, 10), [3])
    assert.deepEqual([tiny.trailer, tiny.trailerOk, tiny.size], [null, false, 10])
  })
})
