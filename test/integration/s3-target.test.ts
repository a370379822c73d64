/**
 * S3Target against a real S3-compatible server (s3rver in its own process on loopback).
 * No S3 API is mocked: every call goes over HTTP to the server, which stores files on disk.
 */
import assert from 'node:assert/strict'
import {createHash, randomBytes} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdtemp, open, readFile, rm, truncate, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {EXIT, OperationError, RefusedError, UsageError} from '../../src/errors.js'
import {S3Target, type S3TargetOptions} from '../../src/services/snapshot/targets/s3.js'
import {startS3Server, type S3Server} from '../helpers/s3-server.js'

const MiB = 1024 * 1024
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex')

let server: S3Server
let work: string
let seq = 0

before(async () => {
  server = await startS3Server()
  work = await mkdtemp(join(tmpdir(), 'plasmactl-s3-test-'))
})

after(async () => {
  await server?.stop()
  if (work) await rm(work, {recursive: true, force: true})
})

/** A target on its own prefix, so tests never see each other's objects. */
function target(opts: S3TargetOptions = {}, url?: string): S3Target {
  seq += 1
  return new S3Target(url ?? `s3://${server.bucket}/backups/t${seq}`, {
    endpoint: server.endpoint,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    forcePathStyle: true,
    ...opts,
  })
}

async function localFile(name: string, data: Uint8Array): Promise<{path: string; size: number; sha256: string}> {
  const path = join(work, name)
  await writeFile(path, data)
  return {path, size: data.length, sha256: sha256(data)}
}

describe('S3Target on s3rver', () => {
  test('multipart upload of a multi-MiB file, list, download, compare sha256, remove', async () => {
    const parts = new Set<number>()
    const t = target({partSize: 5 * MiB, onUploadProgress: (p) => p.part !== undefined && parts.add(p.part)})
    try {
      const data = randomBytes(12 * MiB + 123) // three parts: 5 + 5 + 2 MiB and a bit
      const f = await localFile('big.db', data)
      await t.upload(f.path, 'snap-1.db', {size: f.size, sha256: f.sha256})
      assert.deepEqual([...parts].sort(), [1, 2, 3], 'uploaded as three multipart parts')

      const listed = await t.list()
      assert.deepEqual(
        listed.map((o) => [o.name, o.size]),
        [['snap-1.db', f.size]],
      )
      assert.ok(listed[0].modifiedAt instanceof Date && !Number.isNaN(listed[0].modifiedAt.getTime()))

      const out = join(work, 'big.out')
      await t.download('snap-1.db', out)
      assert.equal(sha256(await readFile(out)), f.sha256)

      await t.remove('snap-1.db')
      assert.deepEqual(await t.list(), [])
    } finally {
      await t.close()
    }
  })

  test('list shows only direct children of the prefix, sorted, and the manifest round-trips as text', async () => {
    const t = target()
    const nested = new S3Target(`${t.url}/nested`, {
      endpoint: server.endpoint,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
    })
    try {
      const manifest = JSON.stringify({name: 'b', sha256: 'x', members: ['ሴ']}, null, 2)
      await t.writeText('b.manifest.json', manifest)
      const f = await localFile('a.db', Buffer.from('aaaa'))
      await t.upload(f.path, 'a.db', {size: 4, sha256: f.sha256})
      await nested.writeText('deeper.json', '{}')
      assert.deepEqual(
        (await t.list()).map((o) => o.name),
        ['a.db', 'b.manifest.json'],
      )
      assert.equal(await t.readText('b.manifest.json'), manifest)
      assert.deepEqual(
        (await nested.list()).map((o) => o.name),
        ['deeper.json'],
      )
    } finally {
      await t.close()
      await nested.close()
    }
  })

  test('names with space, +, :, ~, = and non-ASCII round-trip through upload, list, download, readText and remove', async () => {
    const names = [
      'with space.db',
      'plus+sign.db',
      '2026-01-02T03:04:05Z.db',
      'tilde~x.db',
      'a=b.db',
      'snapshot-ሴ-é.db',
      'all +~=: ሴ.db',
    ]
    const t = target({}, `s3://${server.bucket}/odd prefix+ሴ/t${++seq}`)
    try {
      const contents = new Map<string, Buffer>()
      for (const [i, name] of names.entries()) {
        const data = Buffer.from(`payload ${i} for ${name}\n`)
        contents.set(name, data)
        const f = await localFile(`in-${i}`, data)
        await t.upload(f.path, name, {size: f.size, sha256: f.sha256})
        await t.writeText(`${name}.manifest.json`, JSON.stringify({name}))
      }
      const listed = await t.list()
      const want = [...names, ...names.map((n) => `${n}.manifest.json`)].sort()
      assert.deepEqual(
        listed.map((o) => o.name),
        want,
      )
      for (const [i, name] of names.entries()) {
        const out = join(work, `out-${i}`)
        await t.download(name, out)
        assert.deepEqual(await readFile(out), contents.get(name), name)
        assert.deepEqual(JSON.parse(await t.readText(`${name}.manifest.json`)), {name})
      }
      for (const name of names) {
        await t.remove(name)
        await t.remove(`${name}.manifest.json`)
      }
      assert.deepEqual(await t.list(), [])
    } finally {
      await t.close()
    }
  })

  test('a corrupted stored object (same size, one byte flipped) fails verify and download', async () => {
    const t = target()
    try {
      const data = randomBytes(256 * 1024)
      const f = await localFile('c.db', data)
      await t.upload(f.path, 'c.db', {size: f.size, sha256: f.sha256})
      await t.verify('c.db', {size: f.size, sha256: f.sha256}) // intact: passes

      const stored = server.objectPath(`${t.prefix}c.db`)
      assert.ok(existsSync(stored), `s3rver keeps the object at ${stored}`)
      const fh = await open(stored, 'r+')
      try {
        const b = Buffer.alloc(1)
        await fh.read(b, 0, 1, 1000)
        b[0] ^= 0xff
        await fh.write(b, 0, 1, 1000)
      } finally {
        await fh.close()
      }

      await assert.rejects(t.verify('c.db', {size: f.size, sha256: f.sha256}), (e: unknown) => {
        assert.ok(e instanceof OperationError, String(e))
        assert.match(e.message, /read-back failed: .* sha256/)
        assert.equal(e.exitCode, EXIT.OPERATION_FAILED)
        return true
      })
      const out = join(work, 'c.out')
      await assert.rejects(
        t.download('c.db', out),
        (e: unknown) => e instanceof OperationError && /does not match/.test(e.message),
      )
      assert.equal(existsSync(out), false, 'a failed download leaves no file behind')
    } finally {
      await t.close()
    }
  })

  test('a truncated stored object fails verify on its size', async () => {
    const t = target()
    try {
      const f = await localFile('d.db', randomBytes(64 * 1024))
      await t.upload(f.path, 'd.db', {size: f.size, sha256: f.sha256})
      await truncate(server.objectPath(`${t.prefix}d.db`), 1000)
      await assert.rejects(
        t.verify('d.db', {size: f.size, sha256: f.sha256}),
        /read-back failed: .* is 1000 bytes, expected 65536/,
      )
    } finally {
      await t.close()
    }
  })

  test('upload whose read-back differs from the expectation fails and leaves no object', async () => {
    const t = target()
    try {
      const f = await localFile('e.db', Buffer.from('the real bytes'))
      await assert.rejects(t.upload(f.path, 'e.db', {size: f.size, sha256: sha256('other bytes!!!')}), (e: unknown) => {
        assert.ok(e instanceof OperationError)
        assert.match(e.message, /read-back failed/)
        return true
      })
      assert.deepEqual(await t.list(), [], 'the unverified object was deleted')
      // A size that does not match the local file is bad input, caught before any upload.
      await assert.rejects(t.upload(f.path, 'e.db', {size: f.size + 1, sha256: f.sha256}), UsageError)
    } finally {
      await t.close()
    }
  })

  test('upload refuses to overwrite an existing object', async () => {
    const t = target()
    try {
      const f = await localFile('g.db', Buffer.from('first'))
      await t.upload(f.path, 'g.db', {size: f.size, sha256: f.sha256})
      const g = await localFile('g2.db', Buffer.from('second'))
      await assert.rejects(t.upload(g.path, 'g.db', {size: g.size, sha256: g.sha256}), RefusedError)
      const out = join(work, 'g.out')
      await t.download('g.db', out)
      assert.equal(await readFile(out, 'utf8'), 'first')
    } finally {
      await t.close()
    }
  })

  test('a bucket that does not exist is an OperationError (exit 3) naming the bucket', async () => {
    const t = target({}, 's3://no-such-bucket-here/x')
    try {
      await assert.rejects(t.list(), (e: unknown) => {
        assert.ok(e instanceof OperationError, String(e))
        assert.equal(e.exitCode, 3)
        assert.match(e.message, /NoSuchBucket/)
        assert.equal(e.details.bucket, 'no-such-bucket-here')
        assert.equal(e.details.endpoint, server.endpoint)
        return true
      })
      const f = await localFile('h.db', Buffer.from('h'))
      await assert.rejects(
        t.upload(f.path, 'h.db', {size: 1, sha256: f.sha256}),
        (e: unknown) => e instanceof OperationError && e.exitCode === 3,
      )
      await assert.rejects(t.readText('h.manifest.json'), OperationError)
    } finally {
      await t.close()
    }
  })

  test('a missing object is an OperationError', async () => {
    const t = target()
    try {
      await assert.rejects(
        t.download('nope.db', join(work, 'nope')),
        (e: unknown) => e instanceof OperationError && /does not exist/.test(e.message),
      )
      await assert.rejects(t.readText('nope.manifest.json'), OperationError)
    } finally {
      await t.close()
    }
  })

  test('nothing listening on the endpoint is an OperationError', async () => {
    const t = target({endpoint: 'http://127.0.0.1:9'})
    try {
      await assert.rejects(t.list(), (e: unknown) => e instanceof OperationError && e.exitCode === 3)
    } finally {
      await t.close()
    }
  })

  describe('credentials', () => {
    const saved = {...process.env}
    after(() => {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k]
      Object.assign(process.env, saved)
    })

    test('from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY', async () => {
      process.env.AWS_ACCESS_KEY_ID = server.accessKeyId
      process.env.AWS_SECRET_ACCESS_KEY = server.secretAccessKey
      const t = new S3Target(`s3://${server.bucket}/env`, {endpoint: server.endpoint})
      try {
        await t.writeText('x.json', '{}')
        assert.deepEqual(
          (await t.list()).map((o) => o.name),
          ['x.json'],
        )
      } finally {
        delete process.env.AWS_ACCESS_KEY_ID
        delete process.env.AWS_SECRET_ACCESS_KEY
        await t.close()
      }
    })

    test('from a named profile in a shared credentials file', async () => {
      const creds = join(work, 'credentials')
      await writeFile(
        creds,
        `[plasma]\naws_access_key_id = ${server.accessKeyId}\naws_secret_access_key = ${server.secretAccessKey}\n`,
      )
      process.env.AWS_SHARED_CREDENTIALS_FILE = creds
      process.env.AWS_CONFIG_FILE = join(work, 'no-config')
      delete process.env.AWS_ACCESS_KEY_ID
      delete process.env.AWS_SECRET_ACCESS_KEY
      const t = new S3Target(`s3://${server.bucket}/profile`, {endpoint: server.endpoint, profile: 'plasma'})
      try {
        await t.writeText('y.json', '{}')
        assert.deepEqual(
          (await t.list()).map((o) => o.name),
          ['y.json'],
        )
      } finally {
        await t.close()
      }
    })

    test('an unknown access key is rejected by the server as an OperationError', async () => {
      const t = target({accessKeyId: 'NOT-A-KEY', secretAccessKey: 'x'})
      try {
        await assert.rejects(
          t.list(),
          (e: unknown) => e instanceof OperationError && /InvalidAccessKeyId/.test(e.message),
        )
      } finally {
        await t.close()
      }
    })
  })
})
