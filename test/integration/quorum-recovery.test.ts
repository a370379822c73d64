import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {rm} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it, type TestContext} from 'node:test'
import {ChainfireClient} from '../../src/adapters/chainfire/index.js'
import {type CliResult, eventually, type Lab, startLab} from '../helpers/lab.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface Drill {
  acked: string[]
  snapshot: {name: string; revision: number}
}

/**
 * The quorum-loss drill: a sequenced key every ~50 ms, a snapshot part way, more writes, then every
 * member but the survivors is killed and its data dir removed. The writer stops before the fault, so
 * `acked` is exactly the set of writes the cluster acknowledged.
 */
async function writeThenFail(
  lab: Lab,
  client: ChainfireClient,
  cli: Lab['cli'],
  o: {prefix: string; afterSnapshotMs: number; keepRunning: string[]; keepData?: string[]},
): Promise<Drill> {
  const acked: string[] = []
  let stop = false
  let seq = 0
  const writer = (async () => {
    while (!stop) {
      const key = `${o.prefix}${String(++seq).padStart(6, '0')}`
      await client.put(key, String(seq)).then(
        () => acked.push(key),
        () => undefined,
      )
      await sleep(50)
    }
  })()
  let snap
  try {
    await sleep(1000)
    snap = await cli(['snapshot', 'save', '--json'])
    assert.equal(snap.exitCode, 0, snap.stderr + snap.stdout)
    await sleep(o.afterSnapshotMs)
  } finally {
    stop = true
    await writer
  }
  // An acknowledged write is on a majority, not necessarily on the member whose data survives: the
  // drill starts from members that have applied everything, so "lost" measures the recovery alone.
  // The sentinel (not counted) is there because a member writes a commit index that arrives without
  // new entries to its WAL without flushing it: a kill -9 then leaves the last entries on disk as
  // uncommitted, and etcd --force-new-cluster (how a stopped member's data is read and restored)
  // drops them. The sentinel's append flushes every earlier commit index (docs/runbooks.md).
  await client.put(`${o.prefix}sentinel`, 'not counted')
  await eventually(
    async () => {
      const applied = await Promise.all(
        client.endpoints.map((e) =>
          client.status(e, 1000).then(
            (st) => st.raftAppliedIndex,
            () => -1,
          ),
        ),
      )
      return applied.every((a) => a >= 0 && a === applied[0])
    },
    15_000,
    'every member applied the last write',
  )
  for (const n of lab.nodes) {
    if (o.keepRunning.includes(n.name)) continue
    await lab.killMember(n.name)
    if (!o.keepData?.includes(n.name)) await rm(join(lab.dir, 'nodes', n.name, 'data'), {recursive: true, force: true})
  }
  return {acked, snapshot: {name: snap.json.data.name, revision: snap.json.data.manifest.revision}}
}

async function lostWrites(client: ChainfireClient, prefix: string, acked: string[]): Promise<string[]> {
  const have = new Set((await client.getPrefix(prefix)).kvs.map((kv) => kv.key.toString('utf8')))
  return acked.filter((k) => !have.has(k))
}

async function recover(t: TestContext, cli: Lab['cli'], args: string[] = []) {
  const t0 = performance.now()
  const r = await cli(['runbook', 'run', 'chainfire/quorum-loss-recovery', '--yes', '--json', ...args], {
    timeoutMs: 300_000,
  })
  const seconds = (performance.now() - t0) / 1000
  t.diagnostic(`recovery: exit ${r.exitCode} after ${seconds.toFixed(1)} s`)
  return r
}

/** One lab for a suite: started before its tests, stopped after; the CLI runs with the suite's own state dir. */
function labSuite(nodes: 3 | 5): {lab: Lab; client: ChainfireClient; cli: Lab['cli']} {
  const s = {
    lab: undefined as unknown as Lab,
    client: undefined as unknown as ChainfireClient,
    cli: ((args, o = {}) =>
      s.lab.cli(args, {...o, env: {PLASMACTL_STATE_DIR: join(s.lab.dir, '..', 'state'), ...o.env}})) as Lab['cli'],
  }
  before(async () => {
    s.lab = await startLab({nodes})
    s.client = new ChainfireClient({endpoints: s.lab.nodes.map((n) => ({name: n.name, url: n.clientUrl}))})
  })
  after(async () => {
    s.client?.close()
    await s.lab?.stop()
  })
  return s
}

const restoreStep = (r: CliResult): {detail?: string; error?: string} =>
  r.json.data.steps.find((s: {step: string}) => s.step === 'restore')

describe('quorum-loss recovery on a real 3-node lab', () => {
  const s = labSuite(3)
  const {cli} = s

  it('one survivor: the plan lists every source, the survivor (freshest) is chosen, no acknowledged write is lost', async (t) => {
    const d = await writeThenFail(s.lab, s.client, cli, {
      prefix: '/drill/a/',
      afterSnapshotMs: 10_000,
      keepRunning: ['n1'],
    })
    const dry = await cli(['runbook', 'run', 'chainfire/quorum-loss-recovery', '--dry-run', '--json'])
    assert.equal(dry.exitCode, 0, dry.stderr + dry.stdout)
    const plan = dry.json.data.plan.find((p: {step: string}) => p.step === 'restore').describe.join('\n')
    assert.match(plan, /n1 \(live member\) at revision \d+: CHOSEN \(the freshest\)/)
    assert.match(
      plan,
      new RegExp(`snapshot ${d.snapshot.name} at revision ${d.snapshot.revision} would lose \\d+ revisions`),
    )
    assert.match(plan, /n2 \(data dir of the stopped member\): unusable \(no data in /)

    const r = await recover(t, cli)
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    assert.match(
      restoreStep(r).detail!,
      /restored from n1's data at revision \d+; old data kept at n1:\S+\.before-restore-/,
    )
    const lost = await lostWrites(s.client, '/drill/a/', d.acked)
    t.diagnostic(`3 nodes, 1 survivor: ${d.acked.length} acknowledged writes before the fault, ${lost.length} lost`)
    assert.deepEqual(lost, [])
    const aside = /old data kept at n1:(\S+?)[;,]?$/m.exec(restoreStep(r).detail!)![1]
    assert.ok(existsSync(join(aside, 'member', 'snap', 'db')), `${aside} kept on disk`)
    const h = await cli(['health', '--json'])
    assert.equal(h.exitCode, 0, h.stdout)
  })

  it('an older source than the freshest is refused (exit 6) without --accept-data-loss; with it, the choice is journaled', async (t) => {
    // n1 is stopped with its data (read offline), n2 and n3 lose theirs: the snapshot is older than n1's data.
    const d = await writeThenFail(s.lab, s.client, cli, {
      prefix: '/drill/b/',
      afterSnapshotMs: 2000,
      keepRunning: [],
      keepData: ['n1'],
    })
    const refused = await recover(t, cli, ['--param', `source=${d.snapshot.name}`])
    assert.equal(refused.exitCode, 6, refused.stderr + refused.stdout)
    assert.match(
      refused.json.error.message,
      new RegExp(
        `snapshot ${d.snapshot.name} at revision ${d.snapshot.revision} is older than n1 \\(data dir of the stopped member\\) at revision \\d+: restoring it loses \\d+ revisions`,
      ),
    )
    assert.ok(existsSync(join(s.lab.dir, 'nodes', 'n1', 'data', 'member', 'snap', 'db')), 'n1 data untouched')
    assert.equal(await s.lab.memberPid('n1'), undefined, 'nothing was started')

    const r = await recover(t, cli, ['--param', `source=${d.snapshot.name}`, '--accept-data-loss'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    assert.match(
      restoreStep(r).detail!,
      new RegExp(
        `restored from snapshot ${d.snapshot.name} at revision ${d.snapshot.revision} \\(--accept-data-loss: \\d+ revisions lost\\)`,
      ),
    )
    const transcript = await cli(['runbook', 'log', r.json.data.runId, '--format', 'markdown'])
    assert.match(transcript.stdout, /--accept-data-loss: snapshot \S+ at revision \d+ is older than n1/)
    assert.match(transcript.stdout, /old data kept at n1:\S+\.before-restore-/)
    assert.ok(
      (await lostWrites(s.client, '/drill/b/', d.acked)).length > 0,
      'the writes after the snapshot are gone, as accepted',
    )
  })

  it("a stopped member's data dir is the default source when it is the freshest", async (t) => {
    const d = await writeThenFail(s.lab, s.client, cli, {
      prefix: '/drill/c/',
      afterSnapshotMs: 2000,
      keepRunning: [],
      keepData: ['n2'],
    })
    const r = await recover(t, cli)
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    assert.match(restoreStep(r).detail!, /restored from n2's data at revision \d+/)
    assert.deepEqual(await lostWrites(s.client, '/drill/c/', d.acked), [])
  })

  it('no member data survives: the newest snapshot is restored', async (t) => {
    const d = await writeThenFail(s.lab, s.client, cli, {prefix: '/drill/d/', afterSnapshotMs: 500, keepRunning: []})
    const r = await recover(t, cli)
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    assert.match(
      restoreStep(r).detail!,
      new RegExp(`restored from snapshot ${d.snapshot.name} at revision ${d.snapshot.revision}`),
    )
    const h = await cli(['health', '--json'])
    assert.equal(h.exitCode, 0, h.stdout)
  })
})

describe('quorum-loss recovery on a real 5-node lab', () => {
  const s = labSuite(5)
  const {cli} = s

  it('two survivors (one running, one stopped with its data): no acknowledged write is lost', async (t) => {
    const d = await writeThenFail(s.lab, s.client, cli, {
      prefix: '/drill/5/',
      afterSnapshotMs: 10_000,
      keepRunning: ['n1'],
      keepData: ['n2'],
    })
    const r = await recover(t, cli)
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    assert.match(restoreStep(r).detail!, /restored from n1's data at revision \d+; old data kept at n1:\S+, n2:\S+$/)
    const lost = await lostWrites(s.client, '/drill/5/', d.acked)
    t.diagnostic(`5 nodes, 2 survivors: ${d.acked.length} acknowledged writes before the fault, ${lost.length} lost`)
    assert.deepEqual(lost, [])
    const h = await cli(['health', '--json'])
    assert.equal(h.exitCode, 0, h.stdout)
  })
})
