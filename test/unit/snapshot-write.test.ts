import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {BatchedWriter, WRITE_BATCH_BYTES} from '../../src/services/snapshot/save.js'

const dir = mkdtempSync(join(tmpdir(), 'plasmactl-batched-'))
after(() => rmSync(dir, {recursive: true, force: true}))

describe('snapshot file writes in batches (one writev per MiB)', () => {
  it('writes every chunk in order, across batch boundaries and odd sizes', async () => {
    const chunks: Buffer[] = []
    // 32 KiB chunks as etcd streams them, odd ones in between, and a last partial batch.
    for (let i = 0; i < 100; i++) chunks.push(randomBytes(i % 7 === 3 ? 1 + i * 13 : 32 * 1024))
    const total = chunks.reduce((n, c) => n + c.length, 0)
    assert.ok(total > 2 * WRITE_BATCH_BYTES, 'the test spans several batches')
    const path = join(dir, 'ordered.db')
    const fh = await open(path, 'wx', 0o600)
    const out = new BatchedWriter(fh)
    let waits = 0
    for (const c of chunks) {
      const full = out.add(c)
      if (full) {
        waits++
        await full
      }
    }
    await out.end()
    await fh.close()
    assert.equal(waits, Math.floor(total / WRITE_BATCH_BYTES), 'one write started per full batch')
    assert.deepEqual(readFileSync(path), Buffer.concat(chunks))
  })

  it('a failed write rejects the stream (add or end), never as an unhandled rejection', async () => {
    const path = join(dir, 'read-only.db')
    writeFileSync(path, '')
    const fh = await open(path, 'r') // writes fail with EBADF
    const unhandled: unknown[] = []
    const onUnhandled = (e: unknown) => unhandled.push(e)
    process.on('unhandledRejection', onUnhandled)
    try {
      const out = new BatchedWriter(fh)
      await assert.rejects(async () => {
        for (let i = 0; i < 64; i++) {
          const full = out.add(Buffer.alloc(32 * 1024, 1))
          if (full) await full
        }
        await out.end()
      }, /EBADF/)
      await out.settle()
      await new Promise((r) => setImmediate(r))
      assert.deepEqual(unhandled, [])
    } finally {
      process.off('unhandledRejection', onUnhandled)
      await fh.close()
    }
  })
})
