import assert from 'node:assert/strict'
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import * as grpc from '@grpc/grpc-js'
import {ChainfireCallError} from '../../src/adapters/chainfire/index.js'
import {DURATION_PATTERN, parseDuration} from '../../src/config/duration.js'
import {mapLimit} from '../../src/core/concurrency.js'
import {replaceAtomically, writeFileAtomic} from '../../src/core/fs.js'
import {UsageError} from '../../src/errors.js'
import {mapMembershipError, MembershipRefusedError} from '../../src/services/node/remove.js'

describe('core: atomic replace', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plasmactl-core-'))
  })
  after(() => rm(dir, {recursive: true, force: true}))

  it('a failed fill leaves the old file and no temp file behind', async () => {
    const f = join(dir, 'a.txt')
    await writeFileAtomic(f, 'old')
    await assert.rejects(
      replaceAtomically(f, async (tmp) => {
        await writeFile(tmp, 'half')
        throw new Error('disk full')
      }),
      /disk full/,
    )
    assert.equal(await readFile(f, 'utf8'), 'old')
    assert.deepEqual(await readdir(dir), ['a.txt'])
    await replaceAtomically(f, (tmp) => writeFile(tmp, 'new'))
    assert.equal(await readFile(f, 'utf8'), 'new')
    assert.deepEqual(await readdir(dir), ['a.txt'])
  })

  it('writeFileAtomic creates the directory, sets the mode, and names the file it cannot write (exit 2)', async () => {
    const f = join(dir, 'sub', 'b.txt')
    await writeFileAtomic(f, 'x', 0o640)
    const {stat} = await import('node:fs/promises')
    assert.equal((await stat(f)).mode & 0o777, 0o640)
    await assert.rejects(
      writeFileAtomic(join(f, 'under-a-file'), 'x'),
      (e) => e instanceof UsageError && e.details.file === join(f, 'under-a-file'),
    )
  })
})

describe('core: bounded concurrency', () => {
  it('never runs more than the limit at once and keeps the order of the items', async () => {
    let running = 0
    let most = 0
    const out = await mapLimit([5, 1, 4, 2, 3, 0, 6], 3, async (n, i) => {
      running++
      most = Math.max(most, running)
      await new Promise((r) => setTimeout(r, n))
      running--
      return `${i}:${n}`
    })
    assert.equal(most, 3)
    assert.deepEqual(out, ['0:5', '1:1', '2:4', '3:2', '4:3', '5:0', '6:6'])
    assert.deepEqual(await mapLimit([], 4, async () => 1), [])
  })
})

describe('the duration grammar is one', () => {
  it('DURATION_PATTERN (config and runbook schemas) accepts exactly what parseDuration parses', () => {
    for (const s of [
      '500ms',
      '5s',
      '2m30s',
      '1h',
      '7d',
      '1w',
      '1.5s',
      '1000',
      '0',
      '',
      's',
      '5',
      '5x',
      '1h 2m',
      '-1s',
      '2m30',
      'ms5',
      '1.s',
      '3d4h',
    ]) {
      let parses = true
      try {
        parseDuration(s)
      } catch {
        parses = false
      }
      assert.equal(DURATION_PATTERN.test(s), parses, JSON.stringify(s))
    }
  })
})

describe('membership refusals are classified by kind, not by the caller matching text', () => {
  const endpoint = {name: 'n1', url: 'http://127.0.0.1:2379'}
  const callError = (code: grpc.status, details: string) =>
    new ChainfireCallError(
      endpoint,
      '/etcdserverpb.Cluster/MemberPromote',
      Object.assign(new Error(details), {code, details, metadata: new grpc.Metadata()}),
    )

  it("maps etcd's errors to kinds and exit 6", () => {
    const cases: [grpc.status, string, string][] = [
      [grpc.status.UNAVAILABLE, 'etcdserver: unhealthy cluster', 'unhealthy-cluster'],
      [
        grpc.status.FAILED_PRECONDITION,
        'etcdserver: can only promote a learner member which is in sync with leader',
        'learner-not-ready',
      ],
      [grpc.status.FAILED_PRECONDITION, 'etcdserver: too many learner members in cluster', 'too-many-learners'],
      [
        grpc.status.FAILED_PRECONDITION,
        'etcdserver: re-configuration failed due to not enough started members',
        'not-enough-started-members',
      ],
      [grpc.status.FAILED_PRECONDITION, 'etcdserver: something new', 'precondition'],
    ]
    for (const [code, text, kind] of cases) {
      const e = mapMembershipError(callError(code, text), 'promote n4')
      assert.ok(e instanceof MembershipRefusedError, text)
      assert.equal(e.refusal, kind)
      assert.equal(e.exitCode, 6)
      assert.match(e.message, /^ChainFire refused to promote n4: /)
    }
  })

  it('other failures pass through unchanged', () => {
    const notFound = callError(grpc.status.NOT_FOUND, 'etcdserver: member not found')
    assert.equal(mapMembershipError(notFound, 'x'), notFound)
    const plain = new Error('boom')
    assert.equal(mapMembershipError(plain, 'x'), plain)
  })
})
