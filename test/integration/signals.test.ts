import assert from 'node:assert/strict'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {createInterface} from 'node:readline'
import {after, before, describe, it} from 'node:test'
import {parseDocument} from 'yaml'
import {spawn} from 'node:child_process'
import {type CliResult, eventually, exitOf, type Lab, REPO_ROOT, runCli, startLab} from '../helpers/lab.js'

/** Text of grpc-js and Node that must never reach an operator. */
const RAW = /Resolution note|Last error|No connection established|UNAVAILABLE|ENOENT|DEADLINE_EXCEEDED/

/** On-call signals: a local problem is not an outage, nothing observed is a failure, plain words. */
describe('on-call signals against a real lab with VMs', () => {
  let lab: Lab

  /** A copy of the lab's config with SET applied to the lab context; returns its path and the line of the first key set. */
  async function configWith(name: string, set: [string[], unknown][]): Promise<{path: string; line: number}> {
    const text = await readFile(lab.configPath, 'utf8')
    const doc = parseDocument(text)
    const idx = (doc.toJS().contexts as {name: string}[]).findIndex((c) => c.name === 'lab')
    for (const [path, value] of set) doc.setIn(['contexts', idx, ...path], value)
    const path = join(lab.dir, '..', `${name}.yaml`)
    const out = doc.toString()
    await writeFile(path, out)
    const key = set[0][0].at(-1)!
    const line = out.split('\n').findIndex((l) => l.trimStart().startsWith(`${key}:`)) + 1
    return {path, line}
  }
  const withConfig = (path: string, args: string[]): Promise<CliResult> =>
    lab.cli(args, {env: {PLASMACTL_CONFIG: path}})

  before(async () => {
    lab = await startLab({nodes: 3, args: ['--with', 'vm,flaredb', '--vms-per-host', '1']})
  })

  after(async () => {
    await lab?.stop()
  })

  it('a missing SSH identity file is UNKNOWN (exit 7) naming the file and its config line, not hosts down', async () => {
    const missing = join(lab.dir, 'no-such-key')
    const {path, line} = await configWith('missing-key', [[['ssh', 'identity-file'], missing]])
    // The components this is about (a loaded machine may make another one slow, which is another story).
    const only = ['--component', 'chainfire', '--component', 'plasmavmc', '--timeout', '10s']
    const r = await withConfig(path, ['health', '--json', ...only])
    assert.equal(r.exitCode, 7, r.stdout + r.stderr)
    assert.equal(r.json.status, 'unknown')
    const vmc = r.json.data.components.find((c: {component: string}) => c.component === 'plasmavmc')
    assert.equal(vmc.status, 'unknown')
    assert.doesNotMatch(vmc.summary, /0\/3 hosts up/)
    const chainfire = r.json.data.components.find((c: {component: string}) => c.component === 'chainfire')
    assert.equal(chainfire.status, 'ok')
    const problem = r.json.data.problems.find((p: {status: string}) => p.status === 'unknown')
    assert.ok(problem, JSON.stringify(r.json.data.problems))
    assert.ok(problem.message.includes(missing), problem.message)
    assert.ok(problem.message.includes(`${path}:${line}`), problem.message)
    assert.match(problem.message, /not an outage/)
    assert.ok(
      !r.json.data.problems.some((p: {status: string}) => p.status === 'crit'),
      JSON.stringify(r.json.data.problems),
    )
    const human = await withConfig(path, ['health', ...only])
    assert.equal(human.exitCode, 7, human.stdout + human.stderr)
    assert.match(human.stdout, /^UNKNOWN {2}context lab/m)
    assert.match(human.stdout, /^plasmavmc\s+UNKNOWN\s/m)
    assert.doesNotMatch(human.stdout, RAW)
  })

  it('config validate names a referenced file that does not exist or cannot be read, at file:line (exit 2)', async () => {
    const missing = join(lab.dir, 'no-such-ca.pem')
    const {path, line} = await configWith('missing-files', [
      [['ssh', 'identity-file'], join(lab.dir, 'no-such-key')],
      [['chainfire', 'tls', 'ca'], missing],
      [['ssh', 'known-hosts'], lab.dir],
    ])
    const r = await lab.cli(['config', 'validate', path])
    assert.equal(r.exitCode, 2, r.stdout + r.stderr)
    assert.doesNotMatch(r.stdout, /valid/)
    assert.ok(r.stderr.includes(`${path}:${line}:`), r.stderr)
    assert.match(r.stderr, /ssh\.identity-file: .*no-such-key does not exist/)
    assert.match(r.stderr, /chainfire\.tls\.ca: .*no-such-ca\.pem does not exist/)
    assert.match(r.stderr, /ssh\.known-hosts: .* is a directory/)
    assert.match(r.stderr, /3 problems/)
    const ok = await lab.cli(['config', 'validate'])
    assert.equal(ok.exitCode, 0, ok.stderr)
  })

  it('exec and runbooks fail a host we cannot log in to with our key: exit 2 naming the file and the config line', async () => {
    const missing = join(lab.dir, 'no-such-key')
    const {path, line} = await configWith('missing-key', [[['ssh', 'identity-file'], missing]])
    const ex = await withConfig(path, ['exec', 'n1', '--', 'true'])
    assert.equal(ex.exitCode, 2, ex.stdout + ex.stderr)
    assert.ok((ex.stdout + ex.stderr).includes(`${path}:${line}`), ex.stdout + ex.stderr)
    assert.ok((ex.stdout + ex.stderr).includes(missing))
    const rb = await withConfig(path, ['runbook', 'run', 'chainfire/restart-node', '-p', 'node=n1', '--yes'])
    assert.equal(rb.exitCode, 2, rb.stdout + rb.stderr)
    assert.ok(rb.stderr.includes(`${path}:${line}`), rb.stderr)
    assert.match(rb.stderr, /no-such-key: the file does not exist/)
    // Nothing was stopped: every member still answers.
    const h = await lab.cli(['health', '--json'])
    assert.equal(h.json.data.components[0].details.votersHealthy, 3)
  })

  it('vm list: exit 2 when the hosts cannot be checked from here, exit 3 when no host answers', async () => {
    const missing = join(lab.dir, 'no-such-key')
    const {path} = await configWith('missing-key', [[['ssh', 'identity-file'], missing]])
    const local = await withConfig(path, ['vm', 'list'])
    assert.equal(local.exitCode, 2, local.stdout + local.stderr)
    assert.ok(local.stderr.includes(missing), local.stderr)
    const down = await configWith('closed-port', [[['ssh', 'port'], 1]])
    const r = await withConfig(down.path, ['vm', 'list', '--json'])
    assert.equal(r.exitCode, 3, r.stdout + r.stderr)
    assert.ok(r.json.data.vms.every((v: {observed: string}) => v.observed === 'unknown'))
    const ok = await lab.cli(['vm', 'list'])
    assert.equal(ok.exitCode, 0, ok.stderr)
  })

  it('quorum lost: every component reports within the probe timeout, and every problem carries the command that addresses it', async () => {
    const [a, b] = [lab.nodes[0].name, lab.nodes[1].name]
    await lab.killMember(a)
    await lab.killMember(b)
    try {
      const r = await lab.cli(['health', '--json', '--timeout', '2s'])
      assert.equal(r.exitCode, 5, r.stdout + r.stderr)
      const problems = r.json.data.problems as {status: string; message: string; fix?: string}[]
      // FlareDB and PlasmaVMC read from ChainFire too: bounded by --timeout, not by the client's retries.
      const flaredb = problems.find((p) => p.message.startsWith('flaredb:'))
      assert.match(flaredb?.message ?? '', /no answer within 2(\.0)?s/, JSON.stringify(problems))
      const vmc = problems.find((p) => p.message.startsWith('plasmavmc:'))
      assert.match(vmc?.message ?? '', /no answer within 2(\.0)?s/, JSON.stringify(problems))
      const all = JSON.stringify(problems)
      // QUORUM LOST, or on a loaded machine the survivor too slow to answer: the same next commands.
      const quorum = problems.find((p) => /QUORUM LOST|no ChainFire member is reachable/.test(p.message))
      assert.ok(quorum?.fix, all)
      for (const n of [a, b])
        assert.ok(quorum.fix.includes(`plasmactl runbook run chainfire/restart-node -p node=${n}`), all)
      assert.ok(quorum.fix.includes('plasmactl runbook run chainfire/quorum-loss-recovery'), all)
      const down = problems.find((p) => p.message.includes(`member ${a} is down`))
      assert.equal(down?.fix, `plasmactl runbook run chainfire/restart-node -p node=${a}`)
      assert.doesNotMatch(JSON.stringify(problems), RAW)
      // Every command a fix names exists: runbooks by name, commands by their help.
      const fixes = problems.flatMap((p) => p.fix?.split('\n') ?? [])
      for (const rb of new Set(fixes.flatMap((f) => [...f.matchAll(/runbook run (\S+)/g)].map((m) => m[1])))) {
        const show = await lab.cli(['runbook', 'show', rb])
        assert.equal(show.exitCode, 0, `runbook ${rb}: ${show.stderr} (${all})`)
      }
      const human = await lab.cli(['health', '--timeout', '2s'])
      assert.match(
        human.stdout,
        new RegExp(`member ${a} is down.*\n\\s+→ plasmactl runbook run chainfire/restart-node -p node=${a}`),
      )
      // Restarting a member is how quorum comes back: the runbook does not refuse for want of quorum.
      const dry = await lab.cli(['runbook', 'run', 'chainfire/restart-node', '-p', `node=${a}`, '--dry-run'])
      assert.doesNotMatch(dry.stdout + dry.stderr, /precondition failed: quorum/, all)
    } finally {
      await lab.startMember(a)
      await lab.startMember(b)
    }
    await eventually(
      async () =>
        (await lab.cli(['chainfire', 'members'])).exitCode === 0 &&
        (await lab.cli(['health', '--json'])).json?.data.components[0].status === 'ok',
      60_000,
      'quorum back',
    )
  })

  it('health --watch: a paused member is reported as not answering (hung), not as down, and no listener leak', async () => {
    const child = spawn(
      process.execPath,
      [join(REPO_ROOT, 'bin', 'run.js'), 'health', '--watch', '--json', '--interval', '100ms', '--timeout', '1s'],
      {env: {...process.env, PLASMACTL_CONFIG: lab.configPath}},
    )
    const exit = exitOf(child).then((e) => e.code)
    const changes: string[] = []
    let lines = 0
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    // One JSON report per line.
    createInterface({input: child.stdout}).on('line', (line) => {
      if (!line.trim()) return
      lines++
      changes.push(...((JSON.parse(line).data.changes ?? []) as string[]))
    })
    const victim = lab.nodes[2].name
    const pid = (await lab.memberPid(victim))!
    try {
      // More refreshes than EventEmitter's default of 10 listeners.
      await eventually(async () => lines >= 14, 60_000, '14 reports')
      process.kill(pid, 'SIGSTOP')
      await eventually(
        async () => changes.some((c) => c.includes(`member ${victim} is NOT ANSWERING (hung`)),
        30_000,
        'hung event',
      )
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    await eventually(async () => changes.some((c) => c.includes(`member ${victim} came back`)), 30_000, 'back event')
    child.kill('SIGINT')
    assert.equal(await exit, 130)
    assert.ok(!changes.some((c) => c.includes(`${victim} went DOWN`)), changes.join('; '))
    assert.doesNotMatch(stderr, /MaxListenersExceededWarning/)
  })

  it('tables fit 80 columns; -o wide shows every column', async () => {
    const fits = (text: string, what: string) => {
      for (const line of text.split('\n')) assert.ok(line.length <= 80, `${what}: ${line.length} columns: ${line}`)
    }
    const members = await lab.cli(['chainfire', 'members'])
    assert.equal(members.exitCode, 0, members.stderr)
    fits(members.stdout, 'chainfire members')
    assert.doesNotMatch(members.stdout, /ENDPOINT/)
    const wide = await lab.cli(['chainfire', 'members', '-o', 'wide'])
    assert.match(wide.stdout, /^MEMBER\s+ID\s+ENDPOINT\s.*VERSION\s+ALARMS$/m)
    const nodes = await lab.cli(['node', 'list'])
    assert.equal(nodes.exitCode, 0, nodes.stderr)
    fits(nodes.stdout, 'node list')
    assert.match((await lab.cli(['node', 'list', '-o', 'wide'])).stdout, /^NODE\s+ADDRESS\s/m)
    const health = await lab.cli(['health'])
    // The verdict, the component table, the ChainFire lines and the member table (problems are sentences).
    fits(health.stdout.split('\nProblems:')[0], 'health')
    assert.match((await lab.cli(['health', '-o', 'wide'])).stdout, /^MEMBER\s+ID\s+ENDPOINT\s/m)
  })

  it('every member dead: chainfire members and node list exit 3, roles unknown, and no raw library text', async () => {
    const before = await lab.cli(['chainfire', 'members', '--json'])
    const leader = before.json.data.leader as string
    for (const n of lab.nodes) await lab.killMember(n.name)
    try {
      const m = await lab.cli(['chainfire', 'members', '--timeout', '1s'])
      assert.equal(m.exitCode, 3, m.stdout + m.stderr)
      assert.match(m.stdout, new RegExp(`^${leader}\\s.*\\sunknown\\s`, 'm'))
      assert.doesNotMatch(m.stdout, /follower|leader/)
      assert.doesNotMatch(m.stdout + m.stderr, RAW)
      const mj = await lab.cli(['chainfire', 'members', '--timeout', '1s', '--json'])
      assert.equal(mj.exitCode, 3)
      assert.ok(mj.json.data.members.every((x: {role: string}) => x.role === 'unknown'))
      const nl = await lab.cli(['node', 'list', '--timeout', '1s'])
      assert.equal(nl.exitCode, 3, nl.stdout + nl.stderr)
      assert.doesNotMatch(nl.stdout + nl.stderr, RAW)
      const h = await lab.cli(['health', '--timeout', '1s'])
      assert.equal(h.exitCode, 5)
      assert.doesNotMatch(h.stdout + h.stderr, RAW)
      assert.match(h.stdout, /connection refused/)
    } finally {
      for (const n of lab.nodes) await lab.startMember(n.name)
    }
    await eventually(async () => (await lab.cli(['chainfire', 'members'])).exitCode === 0, 60_000, 'members back')
  })

  it("lab add-node keeps the component roles and sections of the context; lab up keeps the operator's edits", async () => {
    const doc = parseDocument(await readFile(lab.configPath, 'utf8'))
    const idx = (doc.toJS().contexts as {name: string}[]).findIndex((c) => c.name === 'lab')
    const target = `file://${join(lab.dir, 'my-backups')}`
    doc.setIn(['contexts', idx, 'snapshots'], doc.createNode({targets: [target]}))
    await writeFile(lab.configPath, doc.toString())
    const add = await lab.cli(['lab', 'add-node', 'n4', '--dir', lab.dir])
    assert.equal(add.exitCode, 0, add.stdout + add.stderr)
    const ctxAfter = () =>
      readFile(lab.configPath, 'utf8').then((t) =>
        (
          parseDocument(t).toJS().contexts as {
            name: string
            nodes: {name: string; roles: string[]}[]
            flaredb?: unknown
            snapshots?: {targets: string[]}
          }[]
        ).find((c) => c.name === 'lab')!,
      )
    const ctx = await ctxAfter()
    for (const n of ['n1', 'n2', 'n3'])
      assert.deepEqual(ctx.nodes.find((x) => x.name === n)!.roles.sort(), ['chainfire', 'flaredb', 'plasmavmc-host'], n)
    assert.deepEqual(ctx.nodes.find((x) => x.name === 'n4')!.roles, ['chainfire'])
    assert.ok(ctx.flaredb, 'flaredb section kept')
    assert.deepEqual(ctx.snapshots?.targets, [target])
    const up = await lab.cli(['lab', 'up', '--dir', lab.dir])
    assert.equal(up.exitCode, 0, up.stdout + up.stderr)
    assert.deepEqual((await ctxAfter()).snapshots?.targets, [target])
  })
})

describe('help, version and flag suggestions', () => {
  it('help, help TOPIC, -h and version exit 0; the snapshot topic has its own description', async () => {
    const help = await runCli(['help'])
    assert.equal(help.exitCode, 0, help.stderr)
    assert.match(help.stdout, /^TOPICS/m)
    const topic = await runCli(['help', 'node'])
    assert.equal(topic.exitCode, 0, topic.stderr)
    assert.match(topic.stdout, /^ {2}node remove +Remove a node/m)
    const h = await runCli(['health', '-h'])
    assert.equal(h.exitCode, 0, h.stderr)
    assert.match(h.stdout, /--watch/)
    const v = await runCli(['version'])
    assert.equal(v.exitCode, 0, v.stderr)
    assert.match(v.stdout, /^plasmactl\/\d+\.\d+\.\d+ /)
    const vj = await runCli(['version', '--json'])
    assert.equal(vj.json.data.name, 'plasmactl')
    const snap = await runCli(['snapshot', '--help'])
    assert.equal(snap.exitCode, 0)
    assert.match(snap.stdout.split('\n')[0], /^ChainFire snapshots/)
  })

  it('an unknown flag gets a did-you-mean (exit 2)', async () => {
    const r = await runCli(['health', '--wach'])
    assert.equal(r.exitCode, 2)
    assert.match(r.stderr, /did you mean --watch/)
  })
})
