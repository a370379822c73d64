import assert from 'node:assert/strict'
import {spawn, spawnSync} from 'node:child_process'
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {hostname, tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {RefusedError} from '../../src/errors.js'
import {acquireLocalLock, type LockHolder} from '../../src/services/lock.js'
import {partialName, partialOwner} from '../../src/services/snapshot/manifest.js'
import {FileTarget} from '../../src/services/snapshot/targets/file.js'

const holder = (over: Partial<LockHolder> = {}): LockHolder => ({
  holder: `op@${hostname()}`,
  user: 'op',
  host: hostname(),
  pid: process.pid,
  runId: 'run-1',
  purpose: 'test',
  startedAt: '2026-12-02T00:00:00.000Z',
  ...over,
})
const deadPid = () => spawnSync('true').pid!

describe('local lock file', () => {
  let dir: string
  let n = 0
  const path = () => join(dir, `l${++n}.lock`)
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plasmactl-lock-'))
  })
  after(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  it('an empty or garbled lock file (a full disk, a crash) is stale and taken over', async () => {
    for (const content of ['', '{"holder":"op', '\0\0\0\0']) {
      const p = path()
      await writeFile(p, content)
      const release = await acquireLocalLock(p, holder())
      assert.equal(JSON.parse(await readFile(p, 'utf8')).runId, 'run-1')
      await release()
      assert.deepEqual(
        (await readdir(dir)).filter((f) => f.startsWith(p.split('/').pop()!)),
        [],
        'released, nothing left beside it',
      )
    }
  })

  it('a live holder refuses (exit 6, naming it); a dead one or a reused pid is stale', async () => {
    // Another live process of this host holds it (a child of ours stands in for it: not an ancestor).
    const other = spawn('sleep', ['60'], {stdio: 'ignore'})
    const p = path()
    try {
      await writeFile(p, JSON.stringify(holder({pid: other.pid, runId: 'run-live'})))
      await assert.rejects(
        acquireLocalLock(p, holder({runId: 'run-2'})),
        (e: unknown) =>
          e instanceof RefusedError &&
          e.exitCode === 6 &&
          new RegExp(`op@.* pid ${other.pid}, test run run-live, since 2026`).test(e.message),
      )
    } finally {
      other.kill('SIGKILL')
    }

    const dead = path()
    await writeFile(dead, JSON.stringify(holder({pid: deadPid()})))
    await (
      await acquireLocalLock(dead, holder())
    )()

    // The pid is alive, but it is another process than the one that took the lock.
    const reused = path()
    await writeFile(reused, JSON.stringify(holder({pid: process.ppid, pidStart: '1'})))
    await (
      await acquireLocalLock(reused, holder())
    )()
  })

  it('a step nested in a run of this process that holds the lock goes on; the outer run keeps it', async () => {
    const p = path()
    const outer = await acquireLocalLock(p, holder({runId: 'outer'}))
    const inner = await acquireLocalLock(p, holder({runId: 'inner'}))
    await inner()
    assert.match(await readFile(p, 'utf8'), /"runId":"outer"/)
    await outer()
  })

  it('a command started by a run that holds the lock (its ancestor: a runbook local step) goes on; the run keeps it', async () => {
    const p = path()
    const outer = JSON.stringify(holder({pid: process.ppid, runId: 'run-outer'}))
    await writeFile(p, outer)
    await (
      await acquireLocalLock(p, holder({runId: 'run-step'}))
    )()
    assert.equal(await readFile(p, 'utf8'), outer, "the step's release leaves the run's lock")
  })

  it('a holder on another host is never judged from here', async () => {
    const p = path()
    await writeFile(p, JSON.stringify(holder({host: 'elsewhere.example', pid: deadPid()})))
    await assert.rejects(acquireLocalLock(p, holder()), /locked by .*host elsewhere\.example/)
  })

  it('release leaves a lock that is no longer its own', async () => {
    const p = path()
    const release = await acquireLocalLock(p, holder())
    await writeFile(p, JSON.stringify(holder({runId: 'someone-else'})))
    await release()
    assert.match(await readFile(p, 'utf8'), /someone-else/)
  })
})

describe('partial files in a shared file target', () => {
  it('name their owner; a save removes only those of dead processes of this host (and old ones of others)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plasmactl-partials-'))
    try {
      const own = partialName('snapshot')
      assert.deepEqual(partialOwner(own), {pid: process.pid, host: hostname()})
      assert.equal(partialOwner('snapshot.partial-0a1b2c3d4e5f'), undefined)
      const names = {
        live: `snapshot.partial-${process.pid}@${hostname()}.0001`,
        dead: `lab-b.db.partial-${deadPid()}@${hostname()}.0002`,
        otherHost: 'snapshot.partial-77@cron-2.example.com.0003',
        unnamed: 'snapshot.partial-0a1b2c3d4e5f',
      }
      for (const f of Object.values(names)) await writeFile(join(dir, f), 'x')
      const removed = await new FileTarget(dir).cleanPartials()
      assert.deepEqual(removed, [names.dead])
      assert.deepEqual((await readdir(dir)).sort(), [names.live, names.otherHost, names.unnamed].sort())
      assert.deepEqual(
        (await new FileTarget(dir).cleanPartials(-1)).sort(),
        [names.otherHost, names.unnamed].sort(),
        "others' partials go once older than the bound",
      )
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
