import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {createInterface} from 'node:readline'
import {ChainfireClient} from '../../src/adapters/chainfire/index.js'
import {run} from '../../src/adapters/exec/index.js'
import {loadConfig, selectContext} from '../../src/config/load.js'
import {partitionRules, partitionScripts} from '../../src/services/drill/partition.js'
import {eventually, exitOf, type Lab, REPO_ROOT, startLab} from '../helpers/lab.js'

describe('health against a real 3-node lab', () => {
  let lab: Lab
  let client: ChainfireClient
  const leaderName = async () => {
    const r = await lab.cli(['chainfire', 'members', '--json'])
    return r.json?.data?.members?.find((m: {leader: boolean}) => m.leader)?.name as string | undefined
  }

  before(async () => {
    lab = await startLab({nodes: 3})
    client = new ChainfireClient({endpoints: lab.nodes.map((n) => ({name: n.name, url: n.clientUrl}))})
  })

  after(async () => {
    client?.close()
    await lab?.stop()
  })

  it('all ok: exit 0, and --json carries every per-member and cluster field', async () => {
    const r = await lab.cli(['health', '--json'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    assert.equal(r.json.ok, true)
    assert.equal(r.json.status, 'ok')
    const cf = r.json.data.components.find((c: {component: string}) => c.component === 'chainfire')
    assert.equal(cf.status, 'ok')
    const d = cf.details
    assert.equal(d.quorum, true)
    assert.equal(d.voters, 3)
    assert.equal(d.failureTolerance, 1)
    assert.equal(d.clusterIdAgrees, true)
    assert.match(d.clusterId, /^[0-9a-f]+$/)
    assert.ok(
      lab.nodes.some((n) => n.name === d.leader),
      `leader ${d.leader}`,
    )
    assert.deepEqual(d.members.map((m: {name: string}) => m.name).sort(), lab.nodes.map((n) => n.name).sort())
    for (const m of d.members) {
      for (const k of [
        'id',
        'endpoint',
        'reachable',
        'healthy',
        'leader',
        'learner',
        'raftTerm',
        'raftIndex',
        'appliedIndex',
        'lag',
        'dbSize',
        'version',
        'alarms',
        'clusterId',
      ]) {
        assert.ok(k in m, `member field ${k}`)
      }
      assert.equal(m.reachable, true)
      assert.equal(m.healthy, true)
      assert.equal(typeof m.raftIndex, 'number')
      assert.match(m.version, /^3\./)
    }
    assert.equal(d.members.filter((m: {leader: boolean}) => m.leader).length, 1)
  })

  it('a plain health check (run without oclif, src/fast/health.ts) prints what oclif prints, errors included', async () => {
    // Numbers (latencies, ages, raft indexes) move between two checks; everything else must match.
    const mask = (text: string) =>
      text
        .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'T')
        // The newest snapshot's age: its unit (923ms, 1.2s) changes where the table cuts the line.
        .replace(/[\d.]+(ms|s|m|h|d) old[^\n"]*/g, 'AGE')
        .replace(/"pid":\d+/g, '"pid":P')
        .replace(/\d+(\.\d+)?/g, 'N')
    for (const args of [
      ['health', '--json'],
      ['health'],
      ['health', '-o', 'wide', '--timeout', '2s'],
      ['health', '--json', '--context=lab'],
      ['health', '--json', '--context', 'nope'],
      ['health', '--timeout', '0s'],
      ['health', '--json', '--config', join(lab.dir, 'missing.yaml')],
    ]) {
      const fast = await lab.cli(args)
      const oclif = await lab.cli(args, {env: {PLASMACTL_NO_FAST_PATH: '1'}})
      const what = `${args.join(' ')}:\n${fast.stdout}${fast.stderr}\n---\n${oclif.stdout}${oclif.stderr}`
      assert.equal(fast.exitCode, oclif.exitCode, what)
      assert.equal(mask(fast.stdout), mask(oclif.stdout), what)
      assert.equal(mask(fast.stderr), mask(oclif.stderr), what)
    }
  })

  it('renders a table and Prometheus text', async () => {
    const table = await lab.cli(['health'])
    assert.equal(table.exitCode, 0)
    assert.match(table.stdout, /^OK {2}context lab/m)
    assert.match(table.stdout, /failure tolerance 1/)
    const prom = await lab.cli(['health', '--format', 'prometheus'])
    assert.equal(prom.exitCode, 0)
    assert.match(prom.stdout, /^plasmactl_health_status\{context="lab"\} 0$/m)
    assert.match(prom.stdout, /^plasmactl_chainfire_failure_tolerance\{context="lab"\} 1$/m)
    for (const n of lab.nodes)
      assert.match(
        prom.stdout,
        new RegExp(`^plasmactl_chainfire_member_up\\{context="lab",member="${n.name}"\\} 1$`, 'm'),
      )
  })

  it('move-leader moves leadership, checked through the API', async () => {
    const before = await leaderName()
    assert.ok(before)
    const target = lab.nodes.find((n) => n.name !== before)!.name
    const r = await lab.cli(['chainfire', 'move-leader', '--to', target, '--json'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    assert.equal(r.json.data.changed, true)
    const s = await client.status({name: target, url: lab.nodes.find((n) => n.name === target)!.clientUrl})
    assert.equal(s.leader, s.header.memberId, `${target} reports itself as leader`)
    // Without --to: the most caught-up follower takes over.
    const r2 = await lab.cli(['chainfire', 'move-leader', '--json'])
    assert.equal(r2.exitCode, 0, r2.stderr)
    assert.notEqual(r2.json.data.to, target)
    assert.equal(await leaderName(), r2.json.data.to)
  })

  it('health --watch --json calls a move-leader "leadership moved", not a leader loss', async () => {
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, 'bin', 'run.js'), 'health', '--watch', '--json', '--interval', '1s'],
      {
        env: {...process.env, PLASMACTL_CONFIG: lab.configPath, PLASMACTL_CONTEXT: ''},
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    const reports: {changes?: string[]; status?: string}[] = []
    let buf = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        if (line.trim()) reports.push((JSON.parse(line) as {data: {changes?: string[]}}).data)
      }
    })
    const ended = exitOf(child)
    try {
      await eventually(async () => reports.some((r) => r.status === 'ok'), 60_000, 'a first healthy report')
      const from = await leaderName()
      const to = lab.nodes.find((n) => n.name !== from)!.name
      const r = await lab.cli(['chainfire', 'move-leader', '--to', to, '--json'])
      assert.equal(r.exitCode, 0, r.stderr + r.stdout)
      const changes = () => reports.flatMap((x) => x.changes ?? [])
      await eventually(
        async () => changes().some((c) => c.includes(`leadership moved: ${from} → ${to}`)),
        60_000,
        'a "leadership moved" change line',
      ).catch((error: Error) => {
        throw new Error(`${error.message}; changes: ${JSON.stringify(changes())}`)
      })
      assert.ok(!changes().some((c) => /leader changed|QUORUM LOST|leader lost/.test(c)), changes().join('\n'))
    } finally {
      child.kill('SIGINT')
      await ended
    }
  })

  it('move-leader to an unknown member is bad usage (exit 2)', async () => {
    const r = await lab.cli(['chainfire', 'move-leader', '--to', 'nope'])
    assert.equal(r.exitCode, 2)
    assert.match(r.stderr, /no member "nope"/)
  })

  it('--watch --json streams one report per refresh, calls out a member going down and coming back, and ends with 130 on SIGINT', async () => {
    const {spawn} = await import('node:child_process')
    const {join} = await import('node:path')
    const {REPO_ROOT} = await import('../helpers/lab.js')
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, 'bin', 'run.js'), 'health', '--watch', '--json', '--interval', '300ms'],
      {env: {...process.env, PLASMACTL_CONFIG: lab.configPath}},
    )
    const exit = exitOf(child).then((e) => e.code)
    const changes: string[] = []
    const envelopes: {
      ok: boolean
      exitCode: number
      status: string
      data: {type: string; status: string}
      warnings: string[]
    }[] = []
    let lines = 0
    let buf = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d
      let i
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i)
        buf = buf.slice(i + 1)
        if (!line.trim()) continue
        lines++
        const env = JSON.parse(line)
        envelopes.push(env)
        changes.push(...((env.data.changes ?? []) as string[]))
      }
    })
    try {
      await eventually(async () => lines >= 1, 30_000, 'first report')
      const victim = lab.nodes[2].name
      await lab.killMember(victim)
      await eventually(async () => changes.some((c) => c.includes(`member ${victim} went DOWN`)), 30_000, 'down event')
      await lab.startMember(victim)
      await eventually(async () => changes.some((c) => c.includes(`member ${victim} came back`)), 30_000, 'back event')
    } finally {
      child.kill('SIGINT')
    }
    assert.equal(await exit, 130)
    assert.ok(
      changes.some((c) => /status ok → warn/.test(c)),
      changes.join('; '),
    )
    // One envelope per line: each report with the exit code it would have alone, then the end of the stream.
    const reports = envelopes.filter((e) => e.data.type === 'report')
    assert.ok(
      reports.every(
        (e) => e.status === e.data.status && e.exitCode === {ok: 0, warn: 4, crit: 5, unknown: 7}[e.data.status],
      ),
      JSON.stringify(reports.map((e) => [e.status, e.exitCode])),
    )
    assert.ok(reports.some((e) => e.exitCode === 4 && !e.ok))
    assert.deepEqual(
      [envelopes.at(-1)!.data.type, envelopes.at(-1)!.exitCode, envelopes.at(-1)!.status],
      ['end', 130, 'interrupted'],
    )
    await eventually(async () => (await lab.cli(['health', '--json'])).exitCode === 0, 60_000, 'healthy again')
  })

  it('health --watch describes a partitioned follower as cut off (not down) and its heal as such; SIGTERM ends the watch with 143', async () => {
    const ctx = selectContext(await loadConfig(lab.configPath), 'lab')
    const leader = await leaderName()
    const victim = ctx.nodes.find((n) => n.name !== leader && n.roles.includes('chainfire'))!
    // The drills' partition: the member's peer traffic, matched by its node's cgroup v2 group and by port.
    const {apply, undo} = partitionScripts(
      partitionRules(ctx, victim, 'peer', `plasmactl-test-watch:${lab.addressPrefix}.${victim.name}`),
    )
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, 'bin', 'run.js'), 'health', '--watch', '--json', '--interval', '300ms', '--timeout', '1s'],
      {
        env: {...process.env, PLASMACTL_CONFIG: lab.configPath, PLASMACTL_CONTEXT: ''},
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    const exit = exitOf(child).then((e) => e.code)
    const envelopes: {exitCode: number; status: string; data: {type: string; status: string; changes?: string[]}}[] = []
    createInterface({input: child.stdout}).on('line', (line) => line.trim() && envelopes.push(JSON.parse(line)))
    const changes = () => envelopes.flatMap((e) => e.data.changes ?? [])
    const seen = (what: string, re: RegExp, ms = 60_000) =>
      eventually(async () => changes().some((c) => re.test(c)), ms, what).catch((error: Error) => {
        throw new Error(`${error.message}; changes: ${JSON.stringify(changes(), null, 1)}`)
      })
    try {
      await eventually(async () => envelopes.some((e) => e.data.status === 'ok'), 60_000, 'a first healthy report')
      const cut = await run('sh', ['-c', apply])
      assert.equal(cut.exitCode, 0, cut.stderr)
      await seen('the partition', new RegExp(`member ${victim.name} is CUT OFF from its peers \\(a partition\\)`))
      const healed = await run('sh', ['-c', undo])
      assert.equal(healed.exitCode, 0, healed.stderr)
      await seen('the heal', new RegExp(`partition healed: ${victim.name} rejoined at term \\d+`))
    } finally {
      await run('sh', ['-c', undo])
      child.kill('SIGTERM')
    }
    // Its process never went away: no "went DOWN", no "came back".
    assert.ok(
      !changes().some((c) => c.includes(`${victim.name} went DOWN`) || c.includes(`${victim.name} came back`)),
      changes().join('\n'),
    )
    // SIGTERM (systemd stop, timeout(1)): the stream ends with its end line, exit 143.
    assert.equal(await exit, 143)
    const last = envelopes.at(-1)!
    assert.deepEqual(
      [last.data.type, last.data.status, last.exitCode, last.status],
      ['end', 'terminated', 143, 'terminated'],
    )
    await eventually(async () => (await lab.cli(['health', '--json'])).exitCode === 0, 60_000, 'healthy again')
  })

  it('one member down: exit 4, that member shown down, failure tolerance 0', async () => {
    const victim = lab.nodes[0].name
    await lab.killMember(victim)
    const r = await lab.cli(['health', '--json'])
    assert.equal(r.exitCode, 4, r.stdout)
    assert.equal(r.json.status, 'warn')
    const d = r.json.data.components[0].details
    assert.equal(d.quorum, true)
    assert.equal(d.failureTolerance, 0)
    const m = d.members.find((x: {name: string}) => x.name === victim)
    assert.equal(m.reachable, false)
    assert.equal(m.healthy, false)
    const human = await lab.cli(['health'])
    assert.equal(human.exitCode, 4)
    assert.match(human.stdout, new RegExp(`member ${victim} is down`))
    assert.match(human.stdout, /failure tolerance 0/)
  })

  it('two members down: exit 5 and quorum loss stated plainly', async () => {
    const second = lab.nodes[1].name
    await lab.killMember(second)
    const r = await lab.cli(['health'])
    assert.equal(r.exitCode, 5, r.stdout)
    assert.match(r.stdout, /^CRIT/m)
    assert.match(r.stdout, /QUORUM LOST: 0 of 3 voters healthy, 2 needed/)
    const j = await lab.cli(['health', '--json'])
    assert.equal(j.exitCode, 5)
    assert.equal(j.json.data.components[0].details.quorum, false)
    // move-leader refuses without quorum (exit 6), changing nothing.
    const mv = await lab.cli(['chainfire', 'move-leader'])
    assert.equal(mv.exitCode, 6, mv.stderr)
  })

  it('both restarted: ok again', async () => {
    for (const n of lab.nodes.slice(0, 2)) await lab.startMember(n.name)
    const r = await eventually(
      async () => {
        const x = await lab.cli(['health', '--json'])
        return x.exitCode === 0 ? x : undefined
      },
      60_000,
      'health ok after restart',
    )
    assert.equal(r.json.data.components[0].details.failureTolerance, 1)
  })

  it('a context pointing at nothing reachable is crit (exit 5), not a crash', async () => {
    for (const n of lab.nodes) await lab.killMember(n.name)
    const down = await lab.cli(['health', '--json', '--timeout', '1s'])
    assert.equal(down.exitCode, 5)
    assert.match(JSON.stringify(down.json.data.problems), /no ChainFire member is reachable/)
    for (const n of lab.nodes) await lab.startMember(n.name)
    await eventually(async () => (await lab.cli(['health', '--json'])).exitCode === 0, 60_000, 'health ok')
  })
})

describe('health against a TLS lab (mutual TLS to every member)', () => {
  let lab: Lab

  before(async () => {
    lab = await startLab({nodes: 3, tls: true})
  })

  after(async () => {
    await lab?.stop()
  })

  it('is ok over https with the client certificate from the context', async () => {
    const r = await lab.cli(['health', '--json'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    const d = r.json.data.components[0].details
    assert.ok(
      d.members.every((m: {endpoint: string; healthy: boolean}) => m.endpoint.startsWith('https://') && m.healthy),
    )
  })

  it('without the client certificate every member is unreachable (crit), with a reason', async () => {
    const {readFile, writeFile} = await import('node:fs/promises')
    const {parseDocument} = await import('yaml')
    const doc = parseDocument(await readFile(lab.configPath, 'utf8'))
    const idx = (doc.toJS().contexts as {name: string}[]).findIndex((c) => c.name === 'lab')
    doc.deleteIn(['contexts', idx, 'chainfire', 'tls', 'cert'])
    doc.deleteIn(['contexts', idx, 'chainfire', 'tls', 'key'])
    await writeFile(lab.configPath, doc.toString())
    const r = await lab.cli(['health', '--json', '--timeout', '2s'])
    assert.equal(r.exitCode, 5, r.stdout)
    assert.match(JSON.stringify(r.json.data.problems), /no ChainFire member is reachable/)
  })
})
