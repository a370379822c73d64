// Runbook engine vs ansible-playbook: the same 10 steps (a shell command on 3 lab nodes each), side by
// side in ROUNDS interleaved rounds (default 5; each plasmactl, ansible-playbook with pipelining +
// ControlPersist, then again…, after one warm-up run of each): medians, load average before and
// after. Needs a running lab (bench/run.sh runbook starts one) and ansible-playbook (Debian package
// ansible: installed here if missing and running as root; without it only plasmactl is measured).
// --bin PATH (repeatable) picks the plasmactl to measure (default bin/run.js), e.g. --bin
// dist/plasmactl --bin bin/run.js. ANSIBLE_DEFAULTS=1 adds ansible-playbook with its defaults to the
// rounds: it takes most of the time (a 5-round run with it took ~12 min at load average 5–12).
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {loadavg} from 'node:os'
import {binsFromArgv, fmt, interleaved, timeOnce} from './lib.mjs'

const ROUNDS = Number(process.env.ROUNDS ?? process.env.RUNS ?? 5)
const STEPS = 10
const dir = mkdtempSync('/tmp/plasmactl-bench-rb-')
const bins = binsFromArgv(['bin/run.js'])
const cli = bins[0].argv

const rb = join(dir, 'ten-steps.yaml')
writeFileSync(
  rb,
  `apiVersion: plasmactl/v1\nkind: Runbook\nmetadata:\n  name: bench/ten-steps\n  mutating: false\nsteps:\n${Array.from({length: STEPS}, (_, i) => `  - id: s${i + 1}\n    kind: run\n    on: all\n    command: echo step ${i + 1} on {{ node.name }}\n`).join('')}`,
)

const ctx = JSON.parse(execFileSync(cli[0], [...cli.slice(1), 'config', 'view', '--json']).toString()).data
const lab = ctx.config.contexts.find((c) => c.name === (process.env.PLASMACTL_CONTEXT ?? ctx.config['current-context']))
const ssh = lab.ssh
const hosts = lab.nodes.map(
  (n) =>
    `${n.name} ansible_host=${n.address} ansible_port=${ssh.port} ansible_user=${ssh.user} ansible_ssh_private_key_file=${ssh['identity-file']}`,
)
writeFileSync(join(dir, 'inventory.ini'), `[lab]\n${hosts.join('\n')}\n`)
writeFileSync(
  join(dir, 'play.yaml'),
  `- hosts: lab\n  tasks:\n${Array.from({length: STEPS}, (_, i) => `    - name: step ${i + 1}\n      ansible.builtin.shell: echo step ${i + 1} on {{ inventory_hostname }}\n`).join('')}`,
)
const knownHosts = ssh['known-hosts']
const sshArgs = `-o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes`
writeFileSync(
  join(dir, 'default.cfg'),
  `[defaults]\ninventory = ${join(dir, 'inventory.ini')}\n[ssh_connection]\nssh_args = ${sshArgs}\n`,
)
writeFileSync(
  join(dir, 'fast.cfg'),
  `[defaults]\ninventory = ${join(dir, 'inventory.ini')}\n[ssh_connection]\npipelining = True\nssh_args = ${sshArgs} -o ControlMaster=auto -o ControlPersist=60s\n`,
)

// One state directory per binary: the journal analysis below is of the first binary's last run.
const stateOf = (b) => join(dir, `state-${b}`)
const plasma = (bin, b) => () =>
  timeOnce([...bin.argv, 'runbook', 'run', rb, '--yes'], {env: {PLASMACTL_STATE_DIR: stateOf(b)}})
const label = (bin) => bin.label.replace(process.cwd() + '/', '')
const tools = Object.fromEntries(bins.map((bin, b) => [label(bin), plasma(bin, b)]))

let ansible = spawnSync('ansible-playbook', ['--version']).status === 0
if (!ansible && process.getuid?.() === 0) {
  console.log('installing ansible (apt-get install -y ansible)…')
  ansible =
    spawnSync('bash', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ansible >/dev/null'], {
      stdio: 'inherit',
    }).status === 0
}
if (!ansible) console.log('ansible-playbook not found: install it (apt-get install -y ansible) to compare')
const play = (cfg) => () =>
  timeOnce(['ansible-playbook', join(dir, 'play.yaml')], {
    env: {ANSIBLE_CONFIG: join(dir, cfg), ANSIBLE_HOST_KEY_CHECKING: 'True'},
  })
const FAST = 'ansible-playbook pipelining + ControlPersist'
const DEFAULTS = 'ansible-playbook defaults'
if (ansible) tools[FAST] = play('fast.cfg')
if (ansible && process.env.ANSIBLE_DEFAULTS === '1') tools[DEFAULTS] = play('default.cfg')

const loadBefore = loadavg()
const med = interleaved(ROUNDS, tools)
const loadAfter = loadavg()
const tBins = bins.map((bin) => med[label(bin)])

// Per-step overhead after the first connection: from the newest journal, the time between the
// first step's end and the last step's end, over the remaining steps.
const journals = readdirSync(join(stateOf(0), 'runbooks')).sort()
const events = readFileSync(join(stateOf(0), 'runbooks', journals.at(-1)), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l))
const ends = events.filter((e) => e.type === 'step-end').map((e) => Date.parse(e.ts))
const perStep = (Math.max(...ends) - Math.min(...ends.slice(0, 3))) / (STEPS - 1)
// plasmactl's own overhead per step: the step's wall time (previous step's last end to this step's
// last end) minus its slowest command (the remote sshd's session set-up and the command itself).
const byStep = new Map()
for (const e of events.filter((x) => x.type === 'step-end')) {
  const s = byStep.get(e.step) ?? {end: 0, slowest: 0}
  s.end = Math.max(s.end, Date.parse(e.ts))
  s.slowest = Math.max(s.slowest, e.data?.durationMs ?? 0)
  byStep.set(e.step, s)
}
const steps = [...byStep.values()]
const overheads = steps.slice(1).map((s, i) => s.end - steps[i].end - s.slowest)
const overhead = overheads.reduce((a, b) => a + b, 0) / overheads.length

const la = (l) => l.map((x) => x.toFixed(1)).join(' ')
console.log(
  `runbook run (${STEPS} steps × 3 nodes): medians of ${ROUNDS} interleaved rounds; load average ${la(loadBefore)} before, ${la(loadAfter)} after`,
)
for (const [b, bin] of bins.entries()) console.log(`  ${label(bin).padEnd(46)} ${fmt(tBins[b])}`)
const vs = (t) => bins.map((bin, b) => `${label(bin)} ${(t / tBins[b]).toFixed(1)}× faster`).join(', ')
if (med[FAST]) console.log(`  ${FAST.padEnd(46)} ${fmt(med[FAST])}  (${vs(med[FAST])}; goal >= 10×)`)
if (med[DEFAULTS]) console.log(`  ${DEFAULTS.padEnd(46)} ${fmt(med[DEFAULTS])}  (${vs(med[DEFAULTS])})`)
console.log(
  `per step after the first connection ≈ ${perStep.toFixed(1)} ms wall (${label(bins[0])}), of which plasmactl's own overhead ≈ ${overhead.toFixed(1)} ms (the rest is the slowest host's command)`,
)
console.log(JSON.stringify({rounds: ROUNDS, loadBefore, loadAfter, medians: med}))
rmSync(dir, {recursive: true, force: true})
