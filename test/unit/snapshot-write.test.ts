import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {open} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {BatchedWriter, SYNC_EVERY_BATCHES, WRITE_BATCH_BYTES} from '../../src/services/snapshot/save.js'

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

  it('a chunk larger than a batch is split across batches, in order', async () => {
    const chunks = [
      randomBytes(300 * 1024),
      randomBytes(2.5 * WRITE_BATCH_BYTES),
      randomBytes(WRITE_BATCH_BYTES),
      randomBytes(1),
    ]
    const path = join(dir, 'large-chunk.db')
    const fh = await open(path, 'wx', 0o600)
    const out = new BatchedWriter(fh)
    for (const c of chunks) await out.add(c)
    await out.end()
    await fh.close()
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

describe('background fdatasync while a snapshot is written', () => {
  it('syncs every SYNC_EVERY_BATCHES batches beside the stream, and fsyncs at the end', async () => {
    const path = join(dir, 'synced.db')
    const real = await open(path, 'wx', 0o600)
    const calls: string[] = []
    // The real file handle, with its writes and syncs recorded in order.
    const fh = new Proxy(real, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver) as unknown
        if (typeof v !== 'function') return v
        return (...args: unknown[]) => {
          if (prop === 'writev' || prop === 'datasync' || prop === 'sync') calls.push(String(prop))
          return (v as (...a: unknown[]) => unknown).apply(target, args)
        }
      },
    })
    const out = new BatchedWriter(fh)
    const batches = 2 * SYNC_EVERY_BATCHES + 3
    const chunk = Buffer.alloc(WRITE_BATCH_BYTES, 7)
    for (let i = 0; i < batches; i++) {
      const full = out.add(chunk)
      if (full) await full
    }
    await out.end()
    await real.close()
    assert.equal(calls.filter((c) => c === 'datasync').length, 2, 'one background sync per SYNC_EVERY_BATCHES batches')
    assert.equal(calls.at(-1), 'sync', 'the file is fsynced last')
    // The first background sync started before the stream ended: writes follow it.
    assert.ok(calls.indexOf('datasync') < calls.lastIndexOf('writev'), calls.join(','))
    assert.equal(readFileSync(path).length, batches * WRITE_BATCH_BYTES)
  })
})
