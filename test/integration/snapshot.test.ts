import assert from 'node:assert/strict'
import {type ChildProcess, spawn} from 'node:child_process'
import {readdir, readFile, stat, truncate, writeFile, open as fsOpen} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseDocument} from 'yaml'
import {ChainfireClient} from '../../src/adapters/chainfire/index.js'
import {eventually, exitOf, type Lab, REPO_ROOT, startLab} from '../helpers/lab.js'

/** Adds a snapshots section to the lab context (targets in the test's own directory). */
async function configureSnapshots(lab: Lab, snapshots: Record<string, unknown>): Promise<void> {
  const doc = parseDocument(await readFile(lab.configPath, 'utf8'))
  const contexts = doc.get('contexts') as {items: unknown[]}
  const idx = (doc.toJS().contexts as {name: string}[]).findIndex((c) => c.name === 'lab')
  doc.setIn(['contexts', idx, 'snapshots'], doc.createNode(snapshots))
  assert.ok(contexts.items.length > 0)
  await writeFile(lab.configPath, doc.toString())
}

/** Spawns the CLI; `exit` settles even when the process ends before anyone waits for it. */
function spawnCli(
  lab: Lab,
  args: string[],
  env: Record<string, string>,
): {child: ChildProcess; exit: Promise<number | null>} {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), ...args], {
    env: {...process.env, PLASMACTL_CONFIG: lab.configPath, ...env},
    stdio: 'ignore',
  })
  return {child, exit: exitOf(child, 400_000).then((e) => e.code)}
}

describe('snapshots against a real 3-node lab', () => {
  let lab: Lab
  let client: ChainfireClient
  let targetDir: string
  let env: Record<string, string>
  const cli = (args: string[]) => lab.cli(args, {env})

  before(async () => {
    lab = await startLab({nodes: 3})
    targetDir = join(lab.dir, '..', 'snapshots')
    env = {PLASMACTL_STATE_DIR: join(lab.dir, '..', 'state')}
    await configureSnapshots(lab, {
      targets: [`file://${targetDir}`],
      'lock-ttl': '2s',
      retention: {'keep-last': 2, hourly: 0, daily: 0, weekly: 0, monthly: 0},
    })
    client = new ChainfireClient({endpoints: lab.nodes.map((n) => ({name: n.name, url: n.clientUrl}))})
    // ~8 MiB of data so that a save takes long enough to be interrupted.
    const blob = 'x'.repeat(64 * 1024)
    for (let i = 0; i < 128; i++) await client.put(`/data/blob-${String(i).padStart(4, '0')}`, blob)
    for (let i = 0; i < 50; i++) await client.put(`/data/key-${i}`, `value-${i}`)
  })

  after(async () => {
    client?.close()
    await lab?.stop()
  })

  let first: string
  it('save → verify → list → inspect', async () => {
    const save = await cli(['snapshot', 'save', '--json'])
    assert.equal(save.exitCode, 0, save.stderr + save.stdout)
    const m = save.json.data.manifest
    first = save.json.data.name
    assert.match(first, /^lab-\d{8}t\d{6}z-r\d+$/)
    assert.equal(m.keyCount, 178)
    assert.ok(m.revision > 0)
    assert.equal(m.size % 4096, 32, 'bbolt pages + 32-byte trailer')
    const st = await stat(join(targetDir, `${first}.db`))
    assert.equal(st.size, m.size)
    // A caught-up follower is preferred over the leader.
    const leader = (await cli(['chainfire', 'members', '--json'])).json.data.leader
    assert.notEqual(m.sourceMember, leader)
    // The save streamed JSON log lines to stderr (no terminal) and left no lock behind.
    assert.match(save.stderr, /"level":"info"/)
    assert.equal((await client.getPrefix('/plasmactl/locks/')).kvs.length, 0)

    const verify = await cli(['snapshot', 'verify', first, '--json'])
    assert.equal(verify.exitCode, 0, verify.stdout)
    assert.equal(verify.json.data.ok, true)

    const list = await cli(['snapshot', 'list', '--json'])
    assert.equal(list.exitCode, 0)
    assert.deepEqual(
      list.json.data.snapshots.map((s: {id: string}) => s.id),
      [first],
    )
    assert.equal(list.json.data.snapshots[0].complete, true)

    const inspect = await cli(['snapshot', 'inspect', first, '--json'])
    assert.equal(inspect.exitCode, 0)
    assert.equal(inspect.json.data.keyCount, 178)
    assert.equal(inspect.json.data.revision, m.revision)
  })

  it('a flipped byte and a truncated file are both detected by verify (exit 3)', async () => {
    const src = join(targetDir, `${first}.db`)
    const bytes = await readFile(src)
    const flipped = join(lab.dir, '..', 'flipped.db')
    const copy = Buffer.from(bytes)
    copy[Math.floor(copy.length / 2)] ^= 0xff
    await writeFile(flipped, copy)
    const v1 = await cli(['snapshot', 'verify', flipped, '--json'])
    assert.equal(v1.exitCode, 3)
    assert.equal(v1.json.data.checks.find((c: {check: string}) => c.check === 'trailer').ok, false)

    const cut = join(lab.dir, '..', 'cut.db')
    await writeFile(cut, bytes)
    await truncate(cut, bytes.length - 4096)
    const v2 = await cli(['snapshot', 'verify', cut])
    assert.equal(v2.exitCode, 3)
    assert.match(v2.stdout, /BAD/)

    // The same file next to its manifest: the manifest hash catches a change the trailer cannot see.
    const fh = await fsOpen(src, 'r+')
    await fh.write(Buffer.from([bytes[100] ^ 0x01]), 0, 1, 100)
    await fh.close()
    const v3 = await cli(['snapshot', 'verify', first, '--json'])
    assert.equal(v3.exitCode, 3)
    assert.equal(v3.json.data.checks.find((c: {check: string}) => c.check === 'manifest-sha256').ok, false)
    await writeFile(src, bytes)
  })

  it('kill -9 during a save never leaves a file that list or verify accept', async () => {
    for (const delay of [150, 350, 600, 900, 1300]) {
      const {child, exit} = spawnCli(lab, ['snapshot', 'save'], env)
      await new Promise((r) => setTimeout(r, delay))
      child.kill('SIGKILL')
      await exit
    }
    const list = await cli(['snapshot', 'list', '--json'])
    for (const s of list.json.data.snapshots as {id: string; complete: boolean}[]) {
      if (!s.complete) continue
      const v = await cli(['snapshot', 'verify', s.id, '--json'])
      assert.equal(v.exitCode, 0, `${s.id} is listed complete, so it must verify`)
    }
    // In-flight files carry the partial marker and are never listed.
    const names = await readdir(targetDir).catch(() => [] as string[]) // none yet if every save was killed early
    for (const n of names.filter((x) => x.includes('.partial-'))) assert.ok(!list.stdout.includes(n))
    // The next save cleans up and works, once the lease of a save killed while it held the lock has
    // lapsed (lock-ttl 2s; see the overlapping-saves test): a loaded machine kills some mid-stream.
    const save = await eventually(
      async () => {
        const r = await cli(['snapshot', 'save', '--json'])
        return r.exitCode === 6 && /locked by/.test(r.stdout + r.stderr) ? undefined : r
      },
      30_000,
      "a save once the killed saves' leases lapsed",
    )
    assert.equal(save.exitCode, 0, save.stdout + save.stderr)
    assert.equal((await readdir(targetDir)).filter((x) => x.includes('.partial-')).length, 0)
  })

  it('overlapping saves: the second is refused with "locked by"; a holder killed with -9 stops blocking once its lease expires', async () => {
    const {child: holder, exit: holderExit} = spawnCli(lab, ['snapshot', 'save', '--debug'], env)
    await eventually(
      async () => (await client.getPrefix('/plasmactl/locks/snapshot/')).kvs.length > 0,
      20_000,
      'first save holds the lock',
    )
    holder.kill('SIGSTOP')
    const second = await cli(['snapshot', 'save'])
    assert.equal(second.exitCode, 6, second.stderr)
    assert.match(second.stderr, /locked by/)
    holder.kill('SIGKILL')
    await holderExit
    // lock-ttl is 2s: the dead holder's lease lapses and the next run proceeds.
    const third = await eventually(
      async () => {
        const r = await cli(['snapshot', 'save', '--json'])
        return r.exitCode === 0 ? r : undefined
      },
      30_000,
      'save after the lease expired',
    )
    assert.equal(third.json.data.lock[0], 'chainfire')
  })

  it('prune keeps the newest complete snapshots, --dry-run deletes nothing', async () => {
    // Three complete snapshots at least, whichever of the killed saves above finished.
    const completeNow = async () =>
      ((await cli(['snapshot', 'list', '--json'])).json.data.snapshots as {complete: boolean}[]).filter(
        (s) => s.complete,
      ).length
    for (let n = await completeNow(); n < 3; n = await completeNow())
      assert.equal((await cli(['snapshot', 'save'])).exitCode, 0)
    const before = (await cli(['snapshot', 'list', '--json'])).json.data.snapshots as {id: string; complete: boolean}[]
    const complete = before.filter((s) => s.complete)
    assert.ok(complete.length >= 3, `have ${complete.length} complete snapshots`)
    const dry = await cli(['snapshot', 'prune', '--dry-run', '--json'])
    assert.equal(dry.exitCode, 0)
    assert.equal((await cli(['snapshot', 'list', '--json'])).json.data.snapshots.length, before.length)
    const wouldGo = dry.json.data.decisions.filter((d: {keep: boolean}) => !d.keep).map((d: {id: string}) => d.id)
    assert.deepEqual(
      wouldGo.sort(),
      complete
        .slice(2)
        .map((s) => s.id)
        .sort(),
    )
    const real = await cli(['snapshot', 'prune', '--json'])
    assert.equal(real.exitCode, 0)
    const after = (await cli(['snapshot', 'list', '--json'])).json.data.snapshots as {id: string}[]
    assert.deepEqual(
      after.map((s) => s.id).sort(),
      before
        .filter((s) => !wouldGo.includes(s.id))
        .map((s) => s.id)
        .sort(),
    )
    assert.equal(after[0].id, complete[0].id, 'newest kept')
  })

  it('an unreadable manifest is kept without --force and deleted with it', async () => {
    const newest = (await cli(['snapshot', 'list', '--json'])).json.data.snapshots[0].id
    await writeFile(join(targetDir, 'lab-20200101t000000z-r1.db'), 'junk')
    await writeFile(join(targetDir, 'lab-20200101t000000z-r1.manifest.json'), '{not json')
    const p1 = await cli(['snapshot', 'prune', '--json'])
    assert.equal(p1.json.data.decisions.find((d: {id: string}) => d.id === 'lab-20200101t000000z-r1').keep, true)
    const p2 = await cli(['snapshot', 'prune', '--force', '--json'])
    assert.equal(p2.json.data.decisions.find((d: {id: string}) => d.id === 'lab-20200101t000000z-r1').keep, false)
    const ids = (await cli(['snapshot', 'list', '--json'])).json.data.snapshots.map((s: {id: string}) => s.id)
    assert.ok(!ids.includes('lab-20200101t000000z-r1'))
    assert.ok(ids.includes(newest))
  })

  it('health gains a backup probe: ok when fresh, warn when older than the RPO', async () => {
    const ok = await cli(['health', '--json'])
    const b = ok.json.data.components.find((c: {component: string}) => c.component === 'backups')
    assert.equal(b.status, 'ok')
    await configureSnapshots(lab, {targets: [`file://${targetDir}`], rpo: '1ms'})
    const warn = await cli(['health', '--json'])
    assert.equal(warn.exitCode, 4)
    assert.match(JSON.stringify(warn.json.data.problems), /older than the RPO/)
    await configureSnapshots(lab, {targets: [`file://${join(targetDir, 'empty')}`]})
    const crit = await cli(['health', '--json'])
    assert.equal(crit.exitCode, 5)
    assert.match(JSON.stringify(crit.json.data.problems), /no complete snapshot/)
    await configureSnapshots(lab, {targets: [`file://${targetDir}`], 'lock-ttl': '2s'})
  })

  it('restores the whole cluster after every data directory is wiped', async () => {
    const save = await cli(['snapshot', 'save', '--json'])
    assert.equal(save.exitCode, 0, save.stderr)
    const id = save.json.data.name
    const expected = (await client.getPrefix('/data/')).kvs.map((kv) => `${kv.key}=${kv.value.length}`)

    const dry = await cli(['snapshot', 'restore', id, '--dry-run', '--json'])
    assert.equal(dry.exitCode, 0, dry.stderr)
    assert.equal(dry.json.data.dryRun, true)
    // Without a terminal and without --yes it refuses to go on (exit 6), changing nothing.
    const noYes = await cli(['snapshot', 'restore', id])
    assert.equal(noYes.exitCode, 6, noYes.stderr)
    assert.match(noYes.stderr, /--yes/)

    // Disaster: every member stopped and its data directory wiped.
    for (const n of lab.nodes) {
      await lab.killMember(n.name)
      const r = await lab.sshExec(n.name, `rm -rf ${join(lab.dir, 'nodes', n.name, 'data')}`)
      assert.equal(r.exitCode, 0, r.stderr)
    }
    const restore = await cli(['snapshot', 'restore', id, '--yes', '--json'])
    assert.equal(restore.exitCode, 0, restore.stderr + restore.stdout)
    assert.equal(restore.json.data.verified.keyCount, 178)
    // The snapshot was taken under the save's own lock: the restore clears it, so the next save is not refused.
    assert.ok(
      restore.json.data.clearedLocks.some((l: string) => l.startsWith('/plasmactl/locks/snapshot/')),
      restore.stdout,
    )

    const health = await cli(['health', '--json'])
    assert.equal(health.exitCode === 0 || health.exitCode === 4, true, health.stdout)
    const cf = health.json.data.components.find((c: {component: string}) => c.component === 'chainfire').details
    assert.equal(cf.quorum, true)
    assert.ok(cf.leader)
    assert.equal(
      cf.members.every((m: {healthy: boolean}) => m.healthy),
      true,
    )
    const fresh = new ChainfireClient({endpoints: lab.nodes.map((n) => ({name: n.name, url: n.clientUrl}))})
    try {
      const got = (await fresh.getPrefix('/data/')).kvs.map((kv) => `${kv.key}=${kv.value.length}`)
      assert.deepEqual(got, expected)
    } finally {
      fresh.close()
    }
  })

  it('an interrupted restore resumes after its last completed step and finishes', async () => {
    const save = await cli(['snapshot', 'save', '--json'])
    assert.equal(save.exitCode, 0, save.stderr + save.stdout)
    const id = save.json.data.name
    const journals = join(env.PLASMACTL_STATE_DIR, 'restores')
    const before = new Set(await readdir(journals).catch(() => [] as string[]))
    const {child, exit} = spawnCli(lab, ['snapshot', 'restore', id, '--yes'], env)
    // Kill it as soon as every member's data directory has been moved aside (the cluster is down).
    const journal = await eventually(
      async () => {
        const fresh = (await readdir(journals).catch(() => [] as string[])).filter((f) => !before.has(f))
        if (fresh.length !== 1) return undefined
        const text = await readFile(join(journals, fresh[0]), 'utf8')
        const moved = text
          .split('\n')
          .filter((l) => l.includes('"step":"move-aside"') && l.includes('"ok":true')).length
        return moved === lab.nodes.length ? fresh[0] : undefined
      },
      60_000,
      'restore reached move-aside',
    )
    child.kill('SIGKILL')
    await exit
    const runId = journal.replace(/\.jsonl$/, '')
    const resumed = await cli(['snapshot', 'restore', id, '--yes', '--resume', runId, '--json'])
    assert.equal(resumed.exitCode, 0, resumed.stderr + resumed.stdout)
    const skipped = resumed.json.data.skipped as string[]
    for (const n of lab.nodes)
      for (const step of ['upload', 'stop', 'move-aside'])
        assert.ok(skipped.includes(`${step}@${n.name}`), `${step}@${n.name} skipped`)
    // No step ran to completion twice.
    const events = (await readFile(join(journals, journal), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    const ends = events.filter((e) => e.type === 'step-end' && e.ok).map((e) => `${e.step}@${e.target ?? ''}`)
    assert.equal(new Set(ends).size, ends.length, ends.join(', '))
    assert.equal(resumed.json.data.verified.keyCount, 178)
  })
})
