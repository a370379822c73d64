/**
 * HA drills on a real 3-node lab: each drill runs through the real CLI, injects its fault over SSH
 * (with a dead-man timer on the node), runs the workload, recovers, and reports measures, SLOs and
 * a verdict; the report directory re-renders; guardrails refuse what they must.
 */
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ChainfireClient} from '../../src/adapters/chainfire/index.js'
import {drillLab} from '../helpers/drill-lab.js'
import {type CliResult, eventually, type Lab, startLab} from '../helpers/lab.js'
import {leaderOf} from '../helpers/node.js'

let lab: Lab
let state: string
let client: ChainfireClient

const drill = (args: string[], env: Record<string, string> = {}) =>
  lab.cli(['drill', ...args], {env: {PLASMACTL_STATE_DIR: state, ...env}, timeoutMs: 240_000})
const why = (r: CliResult) => `exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`

/** The state letter of a process (R, S, T for stopped…), or undefined when it is gone. */
async function procState(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined)
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[0]
}

async function noDrillKeys(): Promise<void> {
  const left = await client.getPrefix('/plasmactl/drill/')
  assert.equal(left.kvs.length, 0, `drill keys left behind: ${left.kvs.map((k) => k.key.toString()).join(', ')}`)
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function assertMeasuresFilled(data: Record<string, any>): void {
  const m = data.measures
  for (const k of ['detectionSeconds', 'unavailableSeconds', 'rtoSeconds'])
    assert.equal(typeof m[k], 'number', `${k}: ${m[k]}`)
  for (const k of ['failedOps', 'indeterminateOps', 'ackedWrites', 'lostAckedWrites', 'staleReads'])
    assert.ok(Number.isInteger(m[k]), `${k}: ${m[k]}`)
  assert.ok(m.ackedWrites > 0)
  assert.equal(m.lostAckedWrites, 0)
  assert.equal(m.staleReads, 0)
  assert.equal(m.linearizable, true)
  for (const w of ['before', 'during', 'after']) {
    assert.ok(m.latency[w].ops > 0, `no ops ${w} the fault`)
    assert.equal(typeof m.latency[w].p50Ms, 'number')
    assert.equal(typeof m.latency[w].p99Ms, 'number')
  }
  assert.ok(Array.isArray(data.slo) && data.slo.length >= 2)
  for (const s of data.slo) assert.deepEqual(Object.keys(s).sort(), ['limit', 'objective', 'pass', 'value'])
}

/** The restore rehearsal's timeline as Vega renders it: a tick per probe, the window, the labelled moments. */
function assertRehearsalTimeline(svg: string, probes: {status: string}[]): void {
  const ticks = [
    ...svg.matchAll(
      /aria-label="seconds since start: [^"]*; row: restored member; status: (\w+)" role="graphics-symbol" aria-roledescription="tick"/g,
    ),
  ].map((t) => t[1])
  assert.ok(probes.length > 0)
  assert.deepEqual(
    ticks,
    probes.map((p) => p.status),
  )
  assert.equal(ticks.at(-1), 'ok')
  assert.match(svg, /aria-roledescription="rect mark"/)
  for (const label of ['restored', 'started', 'serving']) assert.match(svg, new RegExp(`>${label}<`), label)
}

describe('drill', {concurrency: false}, () => {
  const d = drillLab('drill')
  before(() => {
    ;({lab, state, client} = d)
  })

  it('lists the drills', async () => {
    const r = await drill(['list', '--json'])
    assert.equal(r.exitCode, 0, why(r))
    const names = r.json.data.drills.map((d: {name: string}) => d.name)
    for (const n of ['leader-kill', 'follower-kill', 'member-kill', 'leader-stop', 'follower-stop', 'latency'])
      assert.ok(names.includes(n), n)
  })

  it('refuses an unknown drill with exit 2 and a suggestion', async () => {
    const r = await drill(['run', 'leader-kil', '--json'])
    assert.equal(r.exitCode, 2, why(r))
    assert.match(r.json.error.message, /did you mean "leader-kill"/)
  })

  it('leader kill: a new leader, no acknowledged write lost, linearizable, restarted by the runbook; pass', async () => {
    const r = await drill(['run', 'leader-kill', '--json'])
    assert.equal(r.exitCode, 0, why(r))
    const d = r.json.data
    assert.equal(d.verdict, 'pass')
    assert.equal(d.fault.wasLeader, true)
    assertMeasuresFilled(d)
    assert.equal(typeof d.measures.electionSeconds, 'number')
    assert.ok(d.measures.electionSeconds < 10)
    assert.equal(d.recovery.method, 'runbook chainfire/restart-node')
    assert.ok(await lab.memberPid(d.fault.node), 'the killed member runs again')
    // The workload is paced (default 8 clients, 50 ops/s), not a closed loop at whatever the cluster takes.
    assert.deepEqual([d.workload.clients, d.workload.rate], [8, 50])
    assert.ok(d.workload.operations <= 50 * d.timeline.end + 16, JSON.stringify(d.workload))
    assert.equal(d.checks.watch.ok, true)
    // The journal: a drill run, with fault and recovery steps.
    const events = (await readFile(d.journal, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    assert.deepEqual(
      {kind: events[0].data.kind, drill: events[0].data.drill, context: events[0].data.context},
      {kind: 'drill', drill: 'leader-kill', context: 'lab'},
    )
    assert.equal(typeof events[0].data.operator, 'string')
    assert.deepEqual(
      events.filter((e) => e.type === 'step-end').map((e) => [e.step, e.ok]),
      [
        ['fault', true],
        ['recover', true],
      ],
    )
    // The report directory, and its re-rendering.
    for (const f of ['history.jsonl', 'journal.jsonl', 'result.json', 'report.md', 'timeline.svg'])
      assert.ok(existsSync(join(d.reportDir, f)), f)
    const history = (await readFile(join(d.reportDir, 'history.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    assert.ok(
      history.every(
        (h) =>
          ['ok', 'fail', 'indeterminate'].includes(h.outcome) && typeof h.call === 'number' && h.complete >= h.call,
      ),
    )
    const svg = await readFile(join(d.reportDir, 'timeline.svg'), 'utf8')
    assert.match(svg, /^<svg/)
    assert.match(await readFile(join(d.reportDir, 'report.md'), 'utf8'), /# Drill leader-kill on lab: pass/)
    await rm(join(d.reportDir, 'timeline.svg'))
    const again = await drill(['report', d.reportDir, '--json'])
    assert.equal(again.exitCode, 0, why(again))
    assert.ok(existsSync(join(d.reportDir, 'timeline.svg')))
    await noDrillKeys()
  })

  it('follower SIGSTOP: the cluster keeps serving, the member is continued; pass', async () => {
    const r = await drill(['run', 'follower-stop', '--json'])
    assert.equal(r.exitCode, 0, why(r))
    const d = r.json.data
    assert.equal(d.verdict, 'pass')
    assert.equal(d.fault.wasLeader, false)
    assertMeasuresFilled(d)
    assert.equal(d.recovery.method, 'SIGCONT')
    const pid = await lab.memberPid(d.fault.node)
    assert.ok(pid)
    assert.notEqual(await procState(pid), 'T')
    await noDrillKeys()
  })

  it('--no-recover: the dead-man timer on the node restarts a killed member by itself', async () => {
    // A follower: a leader held down for 2 s is back about when its successor is elected, too soon
    // for the drill to see the cluster serve without it (its "cluster continues" objective fails).
    const {leader} = await leaderOf(client)
    const victim = lab.nodes.map((n) => n.name).find((n) => n !== leader)!
    const r = await drill([
      'run',
      'member-kill',
      '--node',
      victim,
      '--hold',
      '2',
      '--after',
      '1',
      '--no-recover',
      '--json',
    ])
    assert.equal(r.exitCode, 0, why(r))
    const d = r.json.data
    assert.equal(d.fault.node, victim)
    assert.equal(d.fault.wasLeader, false)
    assert.equal(d.fault.deadManSeconds, 2)
    assert.match(d.recovery.method, /dead-man/)
    assert.equal(typeof d.measures.rtoSeconds, 'number')
    assert.ok(await lab.memberPid(victim))
  })

  it('rolling restart under load: every member restarted by the runbook, none lost, linearizable, measured per member; pass', async () => {
    const before = await Promise.all(lab.nodes.map((n) => lab.memberPid(n.name)))
    const r = await drill([
      'run',
      'rolling-restart',
      '--baseline',
      '2',
      '--after',
      '1',
      '--clients',
      '3',
      '--rate',
      '30',
      '--json',
    ])
    assert.equal(r.exitCode, 0, why(r))
    const d = r.json.data
    assert.deepEqual([d.workload.clients, d.workload.rate], [3, 30])
    assert.ok(d.workload.operations <= 30 * d.timeline.end + 6, JSON.stringify(d.workload))
    assert.equal(d.verdict, 'pass')
    assert.equal(d.recovery.method, 'runbook chainfire/rolling-restart')
    assert.equal(d.recovery.status, 'ok')
    assertMeasuresFilled(d)
    // Every member runs again, as a new process.
    const after = await Promise.all(lab.nodes.map((n) => lab.memberPid(n.name)))
    for (const [i, n] of lab.nodes.entries()) assert.ok(after[i] && after[i] !== before[i], `${n.name} restarted`)
    const members = d.measures.members
    assert.deepEqual(members.map((w: {node: string}) => w.node).sort(), lab.nodes.map((n) => n.name).sort())
    for (const w of members) {
      assert.equal(typeof w.downSeconds, 'number', `${w.node} seen down`)
      assert.ok(w.ackedWrites > 0, `${w.node}: writes acknowledged while it was down`)
    }
    const serves = d.slo.find((s: {objective: string}) => s.objective === 'cluster serves while each member restarts')
    assert.equal(serves.pass, true)
    await noDrillKeys()
  })

  it('latency: skipped where netem is not available, not failed', async () => {
    const r = await drill(['run', 'latency', '--json'])
    assert.equal(r.exitCode, 0, why(r))
    assert.equal(r.json.data.verdict, 'skipped')
    assert.equal(r.json.data.skipped, 'skipped: netem not available')
  })

  it('restore rehearsal: the newest verified snapshot serves in a throwaway member with the same keys and HashKV; torn down; pass', async () => {
    const snap = await lab.cli(['snapshot', 'save', '--json'], {env: {PLASMACTL_STATE_DIR: state}})
    assert.equal(snap.exitCode, 0, why(snap))
    const r = await drill(['run', 'restore-rehearsal', '--json'])
    assert.equal(r.exitCode, 0, why(r))
    const d = r.json.data
    assert.equal(d.verdict, 'pass')
    assert.equal(d.rehearsal.snapshot, snap.json.data.name)
    assert.equal(typeof d.measures.timeToServingSeconds, 'number')
    assert.equal(d.measures.revision >= d.measures.expectedRevision, true)
    assert.equal(d.measures.keyCount, d.measures.expectedKeyCount)
    // The manifest records the source member's HashKV at the saved revision; the restored copy matches it.
    const saved = snap.json.data.manifest.hashKV
    assert.deepEqual(Object.keys(saved).sort(), ['compactRevision', 'hash', 'revision'])
    assert.equal(saved.revision, snap.json.data.manifest.revision)
    assert.equal(typeof saved.hash, 'number')
    assert.equal(d.measures.expectedHashKVFrom, 'manifest')
    assert.equal(d.measures.expectedHashKV, saved.hash)
    assert.equal(d.measures.hashKV, saved.hash)
    // Never a live member: its own loopback ports, and gone afterwards.
    const ports = lab.nodes.map((n) => new URL(n.clientUrl).port)
    assert.ok(!ports.includes(new URL(d.rehearsal.clientUrl).port))
    assert.equal(d.rehearsal.tornDown, true)
    assert.equal(existsSync(d.rehearsal.dataDir), false)
    assert.deepEqual(
      (await readFile(d.journal, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((e) => e.type === 'step-end')
        .map((e) => [e.step, e.ok]),
      [
        ['restore', true],
        ['start', true],
        ['wait-serving', true],
        ['check', true],
        ['teardown', true],
      ],
    )
    assert.match(await readFile(join(d.reportDir, 'report.md'), 'utf8'), /# Drill restore-rehearsal on lab: pass/)
    // Its timeline: every probe of the restored member as a tick (the last one serving), the restore
    // window shaded, restored / started / serving marked; `drill report` draws it again.
    const svgFile = join(d.reportDir, 'timeline.svg')
    assertRehearsalTimeline(await readFile(svgFile, 'utf8'), d.health)
    await rm(svgFile)
    const again = await drill(['report', d.reportDir, '--json'])
    assert.equal(again.exitCode, 0, why(again))
    assertRehearsalTimeline(await readFile(svgFile, 'utf8'), d.health)
    // `runs show` links the report directory.
    const shown = await lab.cli(['runs', 'show', d.runId, '--json'], {env: {PLASMACTL_STATE_DIR: state}})
    assert.equal(shown.exitCode, 0, why(shown))
    assert.equal(shown.json.data.reportDir, d.reportDir)
    assert.match((await lab.cli(['runs', 'show', d.runId], {env: {PLASMACTL_STATE_DIR: state}})).stdout, /report: /)
    // The context's objectives become SLO entries: an RTO of 1ms cannot be met (exit 3).
    const strict = join(state, 'rto.yaml')
    await writeFile(
      strict,
      (await readFile(lab.configPath, 'utf8')).replace(/environment: lab/, 'environment: lab\n    drills: {rto: 1ms}'),
    )
    const failed = await drill(['run', 'restore-rehearsal', '--json'], {PLASMACTL_CONFIG: strict})
    assert.equal(failed.exitCode, 3, why(failed))
    const rto = failed.json.data.slo.find((s: {objective: string}) => s.objective === 'rto')
    assert.deepEqual({limit: rto.limit, pass: rto.pass}, {limit: '<= 0.001s', pass: false})
    assert.equal(failed.json.data.rehearsal.tornDown, true)
  })

  it('restore rehearsal checks the HashKV the manifest recorded after the live cluster compacted past the snapshot', async () => {
    const snap = await lab.cli(['snapshot', 'save', '--json'], {env: {PLASMACTL_STATE_DIR: state}})
    assert.equal(snap.exitCode, 0, why(snap))
    const revision = snap.json.data.manifest.revision
    await client.put('/rehearsal-compaction/a', '1')
    const now = (await client.put('/rehearsal-compaction/b', '2')).header.revision
    await client.compact(now)
    await client.deletePrefix('/rehearsal-compaction/')
    const r = await drill(['run', 'restore-rehearsal', '--json'])
    assert.equal(r.exitCode, 0, why(r))
    const d = r.json.data
    assert.equal(d.rehearsal.snapshot, snap.json.data.name)
    assert.equal(d.measures.expectedHashKVFrom, 'manifest')
    assert.equal(d.measures.hashKV, snap.json.data.manifest.hashKV.hash)
    const hash = d.rehearsal.checks.find((c: {check: string}) => c.check === 'hash-kv')
    assert.deepEqual([hash.ok, /in the manifest/.test(hash.detail)], [true, true], hash.detail)
    // A manifest without the hash (an older plasmactl's): the live cluster cannot answer for the
    // compacted revision, so the hash goes uncompared, said so.
    const file = join(lab.dir, 'snapshots', `${snap.json.data.name}.manifest.json`)
    const text = await readFile(file, 'utf8')
    const {hashKV: _dropped, ...older} = JSON.parse(text)
    await writeFile(file, JSON.stringify(older, null, 2))
    try {
      const o = await drill(['run', 'restore-rehearsal', '--json'])
      assert.equal(o.exitCode, 0, why(o))
      const c = o.json.data.rehearsal.checks.find((x: {check: string}) => x.check === 'hash-kv')
      assert.match(c.detail, new RegExp(`not compared: the live cluster compacted past revision ${revision}`))
      assert.equal(o.json.data.measures.expectedHashKV, null)
    } finally {
      await writeFile(file, text)
    }
  })

  it('restore rehearsal --members 3: each member restored from the snapshot, a serving 3-member cluster holding the same data; torn down', async () => {
    const r = await drill(['run', 'restore-rehearsal', '--members', '3', '--json'])
    assert.equal(r.exitCode, 0, why(r))
    const d = r.json.data
    assert.equal(d.verdict, 'pass')
    assert.equal(d.rehearsal.members, 3)
    const urls: string[] = d.rehearsal.clientUrls
    assert.equal(new Set(urls).size, 3)
    const ports = lab.nodes.map((n) => new URL(n.clientUrl).port)
    for (const u of urls) assert.ok(!ports.includes(new URL(u).port), u)
    const agree = d.rehearsal.checks.find((c: {check: string}) => c.check === 'members-agree')
    assert.equal(agree?.ok, true, JSON.stringify(d.rehearsal.checks))
    assert.equal(d.measures.keyCount, d.measures.expectedKeyCount)
    assert.equal(d.rehearsal.tornDown, true)
    assert.equal(existsSync(d.rehearsal.dataDir), false)
    // --members belongs to the rehearsal alone: bad input elsewhere.
    const wrong = await drill(['run', 'leader-kill', '--members', '3', '--json'])
    assert.equal(wrong.exitCode, 2, why(wrong))
    assert.match(wrong.json.error.message, /--members is for restore-rehearsal/)
  })

  it('restore rehearsal fails (exit 3) when the restored data does not match what the manifest recorded', async () => {
    const snaps = join(lab.dir, 'snapshots')
    const manifests = (await readdir(snaps)).filter((f) => f.endsWith('.manifest.json')).sort()
    const newest = join(snaps, manifests.at(-1)!)
    const m = JSON.parse(await readFile(newest, 'utf8'))
    m.keyCount = (m.keyCount ?? 0) + 7
    m.hashKV.hash = (m.hashKV.hash + 1) % 2 ** 32
    await writeFile(newest, JSON.stringify(m, null, 2))
    const r = await drill(['run', 'restore-rehearsal', '--json'])
    assert.equal(r.exitCode, 3, why(r))
    const d = r.json.data
    assert.equal(d.verdict, 'fail')
    assert.equal(d.rehearsal.checks.find((c: {check: string}) => c.check === 'key-count').ok, false)
    assert.equal(d.rehearsal.checks.find((c: {check: string}) => c.check === 'hash-kv').ok, false)
    assert.equal(d.rehearsal.tornDown, true)
    assert.equal(existsSync(d.rehearsal.dataDir), false)
  })

  it('a bad report directory is bad input (exit 2)', async () => {
    const r = await drill(['report', join(state, 'nope'), '--json'])
    assert.equal(r.exitCode, 2, why(r))
  })

  it('refused on a production context without --allow-production (exit 6), and without a terminal to type the name', async () => {
    const prod = join(state, 'prod.yaml')
    await writeFile(
      prod,
      (await readFile(lab.configPath, 'utf8')).replace(/environment: lab/, 'environment: production'),
    )
    const r = await drill(['run', 'leader-kill', '--json'], {PLASMACTL_CONFIG: prod})
    assert.equal(r.exitCode, 6, why(r))
    assert.match(r.json.error.message, /production/)
    const typed = await drill(['run', 'leader-kill', '--allow-production', '--json'], {PLASMACTL_CONFIG: prod})
    assert.equal(typed.exitCode, 6, why(typed))
    await noDrillKeys()
  })

  it('quorum loss needs a verified snapshot younger than an hour (exit 6), or --no-snapshot', async () => {
    // lab up took a first snapshot: start from an empty lab snapshot target.
    const snaps = join(lab.dir, 'snapshots')
    for (const f of await readdir(snaps).catch(() => [])) await rm(join(snaps, f), {recursive: true, force: true})
    const r = await drill(['run', 'quorum-loss', '--json'])
    assert.equal(r.exitCode, 6, why(r))
    assert.match(r.json.error.message, /verified snapshot younger than an hour/)
    await noDrillKeys()
  })

  it('a drill can fail: quorum loss recovered from an older snapshot with --accept-data-loss loses acknowledged writes; exit 3', async () => {
    const snap = await lab.cli(['snapshot', 'save', '--json'], {env: {PLASMACTL_STATE_DIR: state}})
    assert.equal(snap.exitCode, 0, why(snap))
    const r = await drill(['run', 'quorum-loss', '--source', snap.json.data.name, '--accept-data-loss', '--json'])
    assert.equal(r.exitCode, 3, why(r))
    const d = r.json.data
    assert.equal(d.verdict, 'fail')
    assert.equal(d.fault.kind, 'quorum-loss')
    assert.equal(d.fault.node.split(', ').length, 2)
    assert.ok(d.measures.lostAckedWrites > 0, `lostAckedWrites ${d.measures.lostAckedWrites}`)
    assert.equal(d.slo.find((s: {objective: string}) => s.objective === 'no acknowledged write lost').pass, false)
    assert.equal(d.recovery.status, 'ok')
    // The cluster serves again, and every member runs.
    for (const n of lab.nodes) assert.ok(await lab.memberPid(n.name), n.name)
    await eventually(
      async () => (await client.getPrefix('/plasmactl/drill/')).kvs.length === 0,
      10_000,
      'drill keys deleted',
    )
  })

  it('refused when the cluster cannot lose a member (preflight, exit 6)', async () => {
    await lab.killMember('n3')
    try {
      await eventually(
        async () => (await drill(['run', 'follower-kill', '--json'])).exitCode === 6 || undefined,
        30_000,
        'preflight refusal',
      )
    } finally {
      await lab.startMember('n3')
    }
  })
})

describe('drill on 5 members', {concurrency: false}, () => {
  let lab5: Lab
  let state5: string
  before(async () => {
    lab5 = await startLab({nodes: 5})
    state5 = await mkdtemp(join(tmpdir(), 'plasmactl-drill-state-'))
  })
  after(async () => {
    await lab5?.stop()
    if (state5) await rm(state5, {recursive: true, force: true})
  })

  it('leader kill: passes with measures filled', async () => {
    const r = await lab5.cli(['drill', 'run', 'leader-kill', '--json'], {
      env: {PLASMACTL_STATE_DIR: state5},
      timeoutMs: 240_000,
    })
    assert.equal(r.exitCode, 0, why(r))
    assert.equal(r.json.data.verdict, 'pass')
    assert.equal(r.json.data.fault.wasLeader, true)
    assertMeasuresFilled(r.json.data)
    assert.equal(typeof r.json.data.measures.electionSeconds, 'number')
  })
})
