import assert from 'node:assert/strict'
import {type ChildProcess, execFileSync, spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdir, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ChainfireClient} from '../../src/adapters/chainfire/index.js'
import {eventually, exitOf, type Lab, REPO_ROOT, startLab} from '../helpers/lab.js'
import {onTerminal} from '../helpers/terminal.js'

function spawnCli(
  lab: Lab,
  args: string[],
  env: Record<string, string>,
): {child: ChildProcess; exit: Promise<number | null>; out: () => string} {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), ...args], {
    env: {...process.env, PLASMACTL_CONFIG: lab.configPath, ...env},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  return {child, exit: exitOf(child, 400_000).then((e) => e.code), out: () => out}
}

const starts = async (lab: Lab, node: string) =>
  (
    (await readFile(join(lab.dir, 'nodes', node, 'chainfire.log'), 'utf8')).match(/"msg":"starting an etcd server"/g) ??
    []
  ).length

describe('runbooks against a real 3-node lab', () => {
  let lab: Lab
  let client: ChainfireClient
  let work: string
  let env: Record<string, string>
  const cli = (args: string[], extra: Record<string, string> = {}) => lab.cli(args, {env: {...env, ...extra}})
  const revision = async () => (await client.get('/nothing')).header.revision
  const journals = async () =>
    (await readdir(join(work, 'state', 'runbooks')).catch(() => [] as string[])).filter((f) => f.endsWith('.jsonl'))
  const rb = async (name: string, body: string) => {
    const f = join(work, `${name}.yaml`)
    await writeFile(f, `apiVersion: plasmactl/v1\nkind: Runbook\nmetadata:\n  name: ${name}\n${body}`)
    return f
  }

  before(async () => {
    lab = await startLab({nodes: 3})
    work = join(lab.dir, '..', 'work')
    await mkdir(work, {recursive: true, mode: 0o777})
    execFileSync('chmod', ['777', work])
    env = {PLASMACTL_STATE_DIR: join(work, 'state')}
    client = new ChainfireClient({endpoints: lab.nodes.map((n) => ({name: n.name, url: n.clientUrl}))})
    for (let i = 0; i < 20; i++) await client.put(`/data/k${i}`, `v${i}`)
  })

  after(async () => {
    client?.close()
    await lab?.stop()
  })

  it('exec runs on the selected nodes in parallel, labels output, summarises exit codes', async () => {
    const r = await cli([
      'exec',
      'all',
      '--json',
      '--',
      'echo hello-$(hostname) && test "$(whoami)" = plasmalab || test "$(whoami)" = root',
    ])
    assert.equal(r.exitCode, 0, r.stderr)
    assert.deepEqual(
      r.json.data.hosts.map((h: {node: string}) => h.node),
      ['n1', 'n2', 'n3'],
    )
    const f = await cli(['exec', 'n1,n3', '--', 'echo out; exit 3'])
    assert.equal(f.exitCode, 3)
    assert.match(f.stdout, /^n1 \| out$/m)
    assert.match(f.stdout, /^n1: failed: exit 3$/m)
    assert.match(f.stdout, /^0 ok, 2 failed \(of 2; not ok: n\[1,3\]\)$/m)
    const leader = (await cli(['exec', 'leader', '--json', '--', 'true'])).json.data.hosts
    assert.equal(leader.length, 1)
    const g = await cli(['exec', 'followers', '--group', '--', 'echo grouped'])
    // The two followers printed the same output: one block under both names (dshbak -c).
    assert.match(g.stdout, /^── n\[\d[-,]\d\] \(2 hosts, exit 0\)\ngrouped\n2 ok \(of 2\)$/m)
  })

  it('--dry-run renders commands, shows quorum impact, and changes nothing (revision, marker)', async () => {
    const marker = join(work, 'dry-marker')
    const f = await rb(
      'dry',
      `params:\n  node:\n    type: node\n    default: n2\nsteps:\n  - id: touch\n    kind: run\n    on: all\n    command: touch ${marker}-{{ node.name }}\n  - id: local\n    kind: local\n    command: touch ${marker}-local\n  - id: stop\n    kind: service\n    on: "{{ params.node }}"\n    service: chainfire\n    verb: stop\n  - id: rm\n    kind: action\n    action: member-remove\n    with:\n      node: n3\n`,
    )
    const before = await revision()
    const r = await cli(['runbook', 'run', f, '--dry-run', '--json'])
    assert.equal(r.exitCode, 0, r.stderr)
    const plan = r.json.data.plan
    assert.deepEqual(
      plan.map((p: {step: string}) => p.step),
      ['touch', 'local', 'stop', 'rm'],
    )
    assert.equal(plan[0].describe[0], `n1: touch ${marker}-n1`)
    assert.deepEqual(plan[0].targets, ['n1', 'n2', 'n3'])
    assert.deepEqual(plan[2].impact, ['stop n2: 2/3 voters remain, failure tolerance 0'])
    assert.deepEqual(plan[3].impact, ['remove n3: 2/2 voters remain, failure tolerance 0'])
    const human = await cli(['runbook', 'run', 'chainfire/rolling-restart', '--dry-run'])
    assert.equal(human.exitCode, 0, human.stderr)
    assert.match(human.stdout, /quorum: stop n\d: 2\/3 voters remain, failure tolerance 0/)
    for (const n of ['n1', 'n2', 'n3', 'local'])
      assert.equal(existsSync(`${marker}-${n}`), false, `marker ${n} must not exist`)
    assert.equal(await revision(), before, 'ChainFire revision unchanged')
    assert.deepEqual(await journals(), [], 'a dry run writes no journal')
    assert.equal((await client.getPrefix('/plasmactl/locks/')).kvs.length, 0)
  })

  it("a param value like x'; touch /tmp/pwned; ' is never executed (remote, local, sudo-less run)", async () => {
    const pwned = `/tmp/pwned-${process.pid}`
    const out = join(work, 'inject-out')
    const f = await rb(
      'inject',
      `params:\n  msg:\n    type: string\nsteps:\n  - id: remote\n    kind: run\n    on: n1\n    command: echo {{ params.msg }} > ${out}-remote\n  - id: local\n    kind: local\n    command: echo {{ params.msg }} > ${out}-local\n  - id: check\n    kind: check\n    on: n2\n    command: test -n {{ params.msg }}\n`,
    )
    const value = `x'; touch ${pwned}; '`
    const r = await cli(['runbook', 'run', f, '--yes', '--param', `msg=${value}`, '--json'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    assert.equal(existsSync(pwned), false, 'injected command ran')
    assert.equal((await readFile(`${out}-remote`, 'utf8')).trim(), value)
    assert.equal((await readFile(`${out}-local`, 'utf8')).trim(), value)
    const dq = await cli(['runbook', 'run', f, '--yes', '--param', `msg=$(touch ${pwned})\`touch ${pwned}\``])
    assert.equal(dq.exitCode, 0, dq.stderr)
    assert.equal(existsSync(pwned), false)
  })

  it('sudo: steps run through sudo -n; a sudo that wants a password is refused (exit 6) and never prompts', async () => {
    const out = join(work, 'sudo-uid')
    const f = await rb(
      'sudo-check',
      `steps:\n  - id: as-root\n    kind: run\n    on: n1\n    sudo: true\n    command: id -u > ${out}\n`,
    )
    const probe = await lab.sshExec('n1', 'command -v sudo && sudo -n true')
    assert.ok(probe.stdout.includes('sudo'), 'sudo is installed (scripts/setup.sh installs it)')
    if (probe.exitCode !== 0) {
      // The lab user has no sudoers rule: sudo -n says a password is required.
      const r = await cli(['runbook', 'run', f, '--yes', '--json'])
      assert.equal(r.exitCode, 6, r.stdout + r.stderr)
      assert.match(r.json.error.message, /sudo wants a password/)
      assert.equal(existsSync(out), false)
      const x = await cli(['exec', 'n1,n2', '--sudo', '--json', '--', 'true'])
      assert.equal(x.exitCode, 6, x.stdout + x.stderr)
      assert.deepEqual(
        x.json.data.hosts.map((h: {failure: string}) => h.failure),
        ['refused', 'refused'],
      )
    }
    if (process.getuid?.() !== 0) return
    // As root the test can grant the lab user NOPASSWD for the length of this test.
    const rule = `/etc/sudoers.d/plasmactl-test-${process.pid}`
    await writeFile(rule, `${lab.user} ALL=(root) NOPASSWD: ALL\n`, {mode: 0o440})
    try {
      const r = await cli(['runbook', 'run', f, '--yes', '--json'])
      assert.equal(r.exitCode, 0, r.stdout + r.stderr)
      assert.equal((await readFile(out, 'utf8')).trim(), '0')
      const x = await cli(['exec', 'n1', '--sudo', '--json', '--', 'id -un'])
      assert.equal(x.json.data.hosts[0].stdout.trim(), 'root')
    } finally {
      await rm(rule, {force: true})
    }
  })

  it('--step on a terminal shows each step with its resolved targets and asks run / skip / abort / run the rest', async () => {
    const mark = join(work, 'stepped')
    const f = await rb(
      'stepped',
      `steps:\n${[1, 2, 3, 4].map((i) => `  - id: s${i}\n    kind: run\n    on: n${(i % 3) + 1}\n    command: touch ${mark}-${i}\n`).join('')}`,
    )
    const DOWN = '\x1b[B'
    const r = await onTerminal(lab, ['runbook', 'run', f, '--step'], env, [
      {when: /step s1\?/, keys: '\r'},
      {when: /step s2\?/, keys: `${DOWN}\r`},
      {when: /step s3\?/, keys: `${DOWN}${DOWN}${DOWN}\r`},
    ])
    assert.equal(r.exitCode, 0, r.out)
    // The preview names the step, its live targets and the rendered command before asking.
    assert.match(r.out, /── step s1 \(run\)/)
    assert.match(r.out, /targets \(resolved now\): n2/)
    assert.match(r.out, new RegExp(`touch ${mark.replaceAll('/', '\\/')}-1`))
    assert.deepEqual(
      [1, 2, 3, 4].map((i) => existsSync(`${mark}-${i}`)),
      [true, false, true, true],
    )
    // "run the rest": s4 ran without a question.
    assert.doesNotMatch(r.out, /step s4\?/)
    // abort before the first step: nothing runs, refused (exit 6).
    const aborted = await onTerminal(lab, ['runbook', 'run', f, '--step'], env, [
      {when: /step s1\?/, keys: `${DOWN}${DOWN}\r`},
    ])
    assert.equal(aborted.exitCode, 6, aborted.out)
    assert.match(aborted.out, /aborted by the operator before step s1/)
  })

  it('a secret param never appears in terminal output, journal, transcript or the process list', async () => {
    const secret = `s3cr3t-${Date.now()}-value`
    const f = await rb(
      'secret',
      `params:\n  token:\n    type: string\n    secret: true\nsteps:\n  - id: use\n    kind: run\n    on: all\n    command: echo "token is {{ params.token }}"; sleep 1.5\n  - id: fail-loudly\n    kind: run\n    on: n1\n    command: echo "bad {{ params.token }}" >&2; exit 1\n    on_failure: continue\n  - id: local\n    kind: local\n    command: echo {{ params.token }}\n`,
    )
    const run = spawnCli(lab, ['runbook', 'run', f, '--yes', '--debug'], {...env, PLASMACTL_PARAM_TOKEN: secret})
    let seen = false
    const poll = setInterval(() => {
      try {
        if (execFileSync('ps', ['-eo', 'args']).toString().includes(secret)) seen = true
      } catch {
        // ps may race with exiting processes
      }
    }, 50)
    const code = await run.exit
    clearInterval(poll)
    assert.equal(code, 0, run.out())
    assert.equal(seen, false, 'secret visible in the process list')
    assert.ok(!run.out().includes(secret), 'secret in terminal output')
    assert.match(run.out(), /token is \*\*\*/)
    const files = await journals()
    const j = files.find(async () => true)!
    for (const file of files)
      assert.ok(
        !(await readFile(join(work, 'state', 'runbooks', file), 'utf8')).includes(secret),
        `secret in journal ${file}`,
      )
    const runId = /run (run-[\w-]+)/.exec(run.out())![1]
    assert.ok(j)
    const md = await cli(['runbook', 'log', runId, '--format', 'markdown'])
    assert.equal(md.exitCode, 0, md.stderr)
    assert.ok(!md.stdout.includes(secret))
    assert.match(md.stdout, /# Runbook transcript: secret/)
    assert.match(md.stdout, /token is \*\*\*/)
    assert.match(md.stdout, /`token` = \*\(secret, not recorded\)\*/)
  })

  it('kill the runner mid-run, then resume: completed steps do not run again and the run finishes', async () => {
    const m = join(work, 'resume-marker')
    const f = await rb(
      'resumable',
      `steps:\n  - id: one\n    kind: run\n    on: all\n    command: echo one-{{ node.name }} >> ${m}\n  - id: slow\n    kind: run\n    on: n1\n    command: echo slow >> ${m}; sleep 4\n  - id: three\n    kind: run\n    on: all\n    command: echo three-{{ node.name }} >> ${m}\n`,
    )
    const run = spawnCli(lab, ['runbook', 'run', f, '--yes', '--lock-ttl', '30s'], env)
    await eventually(
      async () => existsSync(m) && (await readFile(m, 'utf8')).includes('slow'),
      30_000,
      'slow step started',
    )
    run.child.kill('SIGKILL')
    await run.exit
    const before = await readFile(m, 'utf8')
    assert.equal(before.match(/one-/g)?.length, 3)
    assert.ok(!before.includes('three'))
    const id = /run (run-[\w-]+)/.exec(run.out())?.[1] ?? (await journals()).sort().at(-1)!.replace('.jsonl', '')
    // The dead runner's lease would block for 30 s: the resume takes over its own run's lock.
    const r = await cli(['runbook', 'resume', id, '--yes', '--json'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    assert.equal(r.json.data.status, 'succeeded')
    assert.equal(r.json.data.resumed, true)
    const text = await readFile(m, 'utf8')
    assert.equal(text.match(/one-/g)?.length, 3, 'completed step ran again')
    assert.equal(text.match(/three-/g)?.length, 3)
    assert.equal(r.json.data.steps.filter((s: {status: string}) => s.status === 'completed-before').length, 3)
    // Changing the runbook's steps makes a resume refuse.
    const again = await cli(['runbook', 'resume', id, '--yes'])
    assert.equal(again.exitCode, 2, 'a finished run has nothing to resume')
  })

  it('resume refuses when the runbook steps changed', async () => {
    const f = await rb(
      'changing',
      `steps:\n  - id: a\n    kind: run\n    on: n1\n    command: "true"\n  - id: b\n    kind: run\n    on: n1\n    command: exit 1\n`,
    )
    const r = await cli(['runbook', 'run', f, '--yes', '--json'])
    assert.equal(r.exitCode, 3)
    const id = r.json.error.details.runId
    // The error envelope carries the steps run so far, not only the run id.
    assert.equal(r.json.ok, false)
    assert.equal(r.json.data.runId, id)
    assert.equal(r.json.data.status, 'failed')
    assert.deepEqual(
      r.json.data.steps.map((s: {step: string; status: string}) => [s.step, s.status]),
      [
        ['a', 'ok'],
        ['b', 'failed'],
      ],
    )
    await writeFile(f, (await readFile(f, 'utf8')).replace('exit 1', 'exit 0'))
    const res = await cli(['runbook', 'resume', id, '--yes'])
    assert.equal(res.exitCode, 6, res.stderr)
    assert.match(res.stderr, /changed since run/)
  })

  it('--json: warnings fill the envelope and go to stderr as JSON lines', async () => {
    const f = await rb(
      'warns',
      `steps:\n  - id: tolerated\n    kind: run\n    on: n1\n    command: exit 4\n    on_failure: continue\n  - id: after\n    kind: run\n    on: n1\n    command: "true"\n`,
    )
    const r = await cli(['runbook', 'run', f, '--yes', '--json'])
    assert.equal(r.exitCode, 0, r.stderr)
    assert.equal(r.json.warnings.length, 1, JSON.stringify(r.json.warnings))
    assert.match(r.json.warnings[0], /step tolerated failed.*continuing \(on_failure: continue\)/)
    const lines = r.stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as {level: string; msg: string; command: string})
    const warn = lines.filter((l) => l.level === 'warn')
    assert.deepEqual(
      warn.map((l) => l.msg),
      r.json.warnings,
    )
    assert.equal(warn[0].command, 'runbook run')
    // Without --json the same warning is a plain line on stderr.
    const human = await cli(['runbook', 'run', f, '--yes'])
    assert.equal(human.exitCode, 0)
    assert.match(human.stderr, /^warning: step tolerated failed.*continuing/m)
  })

  it('a second mutating run is refused by the lock (exit 6, holder named); after the holder dies its lease lapses', async () => {
    const f = await rb('holder', `steps:\n  - id: wait\n    kind: run\n    on: n1\n    command: sleep 20\n`)
    const holder = spawnCli(lab, ['runbook', 'run', f, '--yes', '--lock-ttl', '3s'], env)
    try {
      await lockChecks(holder)
    } finally {
      holder.child.kill('SIGKILL')
    }
    const quick = await rb('quick', `steps:\n  - id: q\n    kind: run\n    on: n1\n    command: "true"\n`)
    await eventually(
      async () =>
        (await cli(['runbook', 'run', quick, '--yes'], {PLASMACTL_STATE_DIR: join(work, 'state2')})).exitCode === 0,
      30_000,
      'run after the lease lapsed',
    )
    assert.equal((await client.getPrefix('/plasmactl/locks/cluster')).kvs.length, 0)
  })

  async function lockChecks(holder: ReturnType<typeof spawnCli>) {
    const f = join(work, 'holder.yaml')
    const kv = await eventually(
      async () => (await client.getPrefix('/plasmactl/locks/cluster')).kvs[0],
      20_000,
      'lock taken',
    )
    const value = JSON.parse(kv.value.toString())
    assert.match(value.runId, /^run-/)
    assert.equal(value.purpose, 'runbook holder')
    // Another state dir: only the ChainFire lock can refuse it.
    const second = await cli(['runbook', 'run', f, '--yes'], {PLASMACTL_STATE_DIR: join(work, 'state2')})
    assert.equal(second.exitCode, 6, second.stderr)
    assert.match(second.stderr, new RegExp(`locked by .*${value.runId}`))
    holder.child.kill('SIGKILL')
    await holder.exit
  }

  it('an SSH connection dropped mid-step is a connection failure, not a command failure', async () => {
    const f = await rb(
      'drop',
      `steps:\n  - id: drop\n    kind: run\n    on: n1\n    command: sleep 0.2; kill -9 $PPID; sleep 5\n  - id: cmd-fails\n    kind: run\n    on: n2\n    command: exit 7\n`,
    )
    const r = await cli(['runbook', 'run', f, '--yes', '--json'])
    assert.equal(r.exitCode, 3, r.stderr)
    assert.match(r.json.error.message, /connection failure/)
    assert.equal(r.json.error.details.failure, 'connection')
    const id = r.json.error.details.runId
    const log = await cli(['runbook', 'log', id, '--json'])
    const ev = log.json.data.events.find((e: {step: string}) => e.step === 'drop')
    assert.equal(ev.failure, 'connection')
    assert.equal(ev.status, 'failed')
    const f2 = await rb('cmdfail', `steps:\n  - id: cmd-fails\n    kind: run\n    on: n2\n    command: exit 7\n`)
    const r2 = await cli(['runbook', 'run', f2, '--yes', '--json'])
    assert.equal(r2.json.error.details.failure, 'command')
    assert.match(r2.json.error.message, /command failure: exit 7/)
  })

  it('a changed host key is refused, showing both fingerprints (even with --accept-new-host-keys)', async () => {
    const kh = join(lab.dir, 'ssh', 'known_hosts')
    const original = await readFile(kh, 'utf8')
    const keyFile = join(work, 'other_key')
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyFile])
    const other = (await readFile(`${keyFile}.pub`, 'utf8')).trim().split(' ').slice(0, 2).join(' ')
    const n2 = lab.nodes.find((n) => n.name === 'n2')!
    const name = `[${n2.address}]:${n2.sshPort}`
    const lines = original.split('\n').filter((l) => l && !l.startsWith(name) && !l.startsWith(n2.address))
    try {
      await writeFile(kh, [...lines, `${name} ${other}`].join('\n') + '\n')
      const r = await cli(['exec', 'n2', '--accept-new-host-keys', '--json', '--', 'true'])
      // A refused host key is a safety refusal (6), as in a runbook, not an operation failure (3).
      assert.equal(r.exitCode, 6, r.stdout)
      assert.equal(r.json.data.hosts[0].failure, 'refused')
      assert.match(r.json.data.hosts[0].error, /CHANGED/)
      assert.equal((r.json.data.hosts[0].error.match(/SHA256:/g) ?? []).length, 2, 'both fingerprints shown')
      const f = await rb('hk', `steps:\n  - id: x\n    kind: run\n    on: n2\n    command: "true"\n`)
      const run = await cli(['runbook', 'run', f, '--yes', '--accept-new-host-keys'])
      assert.equal(run.exitCode, 6, run.stderr)
      assert.match(run.stderr, /CHANGED/)
      // Unknown (not changed) keys are recorded with --accept-new-host-keys.
      await writeFile(kh, lines.join('\n') + '\n')
      const tofu = await cli(['exec', 'n2', '--accept-new-host-keys', '--', 'true'])
      assert.equal(tofu.exitCode, 0, tofu.stderr)
      assert.ok((await readFile(kh, 'utf8')).includes(name))
    } finally {
      await writeFile(kh, original)
    }
  })

  it('chainfire/restart-node restarts exactly that member and leaves the cluster healthy', async () => {
    const pids = Object.fromEntries(await Promise.all(['n1', 'n2', 'n3'].map(async (n) => [n, await lab.memberPid(n)])))
    const leader = (await cli(['chainfire', 'members', '--json'])).json.data.leader
    const r = await cli(['runbook', 'run', 'chainfire/restart-node', '--param', `node=${leader}`, '--yes', '--json'])
    assert.equal(r.exitCode, 0, r.stderr)
    for (const n of ['n1', 'n2', 'n3']) {
      if (n === leader) assert.notEqual(await lab.memberPid(n), pids[n])
      else assert.equal(await lab.memberPid(n), pids[n])
    }
    const members = (await cli(['chainfire', 'members', '--json'])).json.data
    assert.notEqual(members.leader, leader, 'leadership was moved away first')
    assert.ok(members.quorum && members.members.every((m: {healthy: boolean}) => m.healthy))
  })

  it('chainfire/rolling-restart restarts every member exactly once, leader last, cluster healthy', async () => {
    const before = Object.fromEntries(await Promise.all(['n1', 'n2', 'n3'].map(async (n) => [n, await starts(lab, n)])))
    const leader = (await cli(['chainfire', 'members', '--json'])).json.data.leader
    const r = await cli(['runbook', 'run', 'chainfire/rolling-restart', '--yes', '--json'])
    assert.equal(r.exitCode, 0, r.stderr)
    for (const n of ['n1', 'n2', 'n3']) assert.equal((await starts(lab, n)) - before[n], 1, `${n} started exactly once`)
    const startSteps = r.json.data.steps
      .filter((s: {step: string; status: string}) => /\/start$/.test(s.step) && s.status === 'ok')
      .map((s: {target: string}) => s.target)
    assert.equal(startSteps.length, 3)
    assert.equal(startSteps.at(-1), leader, 'leader restarted last')
    const h = await cli(['health', '--json'])
    assert.equal(h.exitCode, 0, h.stdout)
  })

  it('chainfire/defrag defragments every member (followers first, the leader after moving leadership)', async () => {
    const blob = 'y'.repeat(256 * 1024)
    for (let i = 0; i < 24; i++) await client.put(`/junk/${i}`, blob)
    await client.deletePrefix('/junk/')
    const rev = await revision()
    execFileSync('etcdctl', ['--endpoints', lab.nodes[0].clientUrl, 'compact', String(rev)], {
      env: {...process.env, ETCDCTL_API: '3'},
    })
    const size = async () =>
      Object.fromEntries(
        await Promise.all(
          lab.nodes.map(async (n) => [n.name, (await client.status({name: n.name, url: n.clientUrl})).dbSize]),
        ),
      )
    const before = await size()
    const leader = (await cli(['chainfire', 'members', '--json'])).json.data.leader
    const r = await cli(['runbook', 'run', 'chainfire/defrag', '--yes', '--json'])
    assert.equal(r.exitCode, 0, r.stderr)
    const afterSize = await size()
    for (const n of ['n1', 'n2', 'n3']) assert.ok(afterSize[n] < before[n], `${n}: ${before[n]} → ${afterSize[n]}`)
    const order = r.json.data.steps
      .filter((s: {step: string; status: string}) => s.step.endsWith('/defrag') && s.status === 'ok')
      .map((s: {step: string}) => /@(n\d)\//.exec(s.step)![1])
    assert.equal(order.at(-1), leader)
    assert.ok(
      r.json.data.steps.some(
        (s: {step: string; status: string}) => s.step === `defrag@${leader}/move-leadership` && s.status === 'ok',
      ),
    )
  })

  it('chainfire/replace-node removes a failed member, re-adds it as a learner and promotes it', async () => {
    const snap = await cli(['snapshot', 'save', '--json'])
    assert.equal(snap.exitCode, 0, snap.stderr)
    const oldId = (await cli(['chainfire', 'members', '--json'])).json.data.members.find(
      (m: {name: string}) => m.name === 'n3',
    ).id
    await lab.killMember('n3')
    await rm(join(lab.dir, 'nodes', 'n3', 'data'), {recursive: true, force: true})
    await client.put('/data/after-failure', 'yes')
    // The dry run shows the built-in plans it delegates to (node remove, then node add), with the quorum impact.
    const dry = await cli(['runbook', 'run', 'chainfire/replace-node', '--param', 'node=n3', '--dry-run', '--json'])
    assert.equal(dry.exitCode, 0, dry.stderr + dry.stdout)
    const planned = dry.json.data.plan.find((p: {step: string}) => p.step === 'replace').describe.join('\n')
    assert.match(planned, /remove ChainFire member n3 \(id [^)]+\) through the Cluster API: 2 voters remain/)
    assert.match(planned, /move n3:\S+ aside/)
    assert.match(planned, /promote n3 to voter: 3 voters/)
    const r = await cli(['runbook', 'run', 'chainfire/replace-node', '--param', 'node=n3', '--yes', '--json'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    const m = await eventually(
      async () => {
        const d = (await cli(['chainfire', 'members', '--json'])).json.data
        const n3 = d.members.find((x: {name: string}) => x.name === 'n3')
        return n3?.healthy && !n3.learner && d.members.every((x: {healthy: boolean}) => x.healthy) ? n3 : undefined
      },
      30_000,
      'n3 a healthy voter',
    )
    assert.notEqual(m.id, oldId)
    // The built-in plans' steps are journaled in the runbook's run, under the step's key.
    const steps = (await cli(['runs', 'show', r.json.data.runId, '--json'])).json.data.entries
      .map((e: {step?: string}) => e.step)
      .filter(Boolean)
    for (const s of ['replace/member-remove', 'replace/move-data', 'replace/member-add', 'replace/promote'])
      assert.ok(steps.includes(s), `${s} in ${steps.join(' ')}`)
    const n3 = lab.nodes.find((n) => n.name === 'n3')!
    const v = await client.unaryOn(
      {name: 'n3', url: n3.clientUrl},
      '/etcdserverpb.KV/Range',
      (await import('../../src/adapters/chainfire/codec.js')).rangeCodec,
      {key: Buffer.from('/data/after-failure'), serializable: true},
    )
    assert.equal(v.kvs[0]?.value.toString(), 'yes')
  })

  it('chainfire/quorum-loss-recovery rebuilds the whole cluster from the freshest source (here the surviving member)', async () => {
    await client.put('/data/before-loss', 'kept')
    const snap = await cli(['snapshot', 'save', '--json'])
    assert.equal(snap.exitCode, 0, snap.stderr)
    await lab.killMember('n2')
    await lab.killMember('n3')
    const dry = await cli(['runbook', 'run', 'chainfire/quorum-loss-recovery', '--dry-run', '--json'])
    assert.equal(dry.exitCode, 0, dry.stderr)
    const r = await cli(['runbook', 'run', 'chainfire/quorum-loss-recovery', '--yes', '--json'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    assert.match(
      r.json.data.steps.find((s: {step: string}) => s.step === 'restore').detail,
      /restored from n1's data at revision \d+/,
    )
    const h = await cli(['health', '--json'])
    assert.equal(h.exitCode, 0, h.stdout)
    assert.equal((await client.get('/data/before-loss')).kvs[0]?.value.toString(), 'kept')
    assert.equal((await client.get('/data/k7')).kvs[0]?.value.toString(), 'v7')
  })
})
