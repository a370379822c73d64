// Runbook engine vs ansible-playbook: the same 10 steps (a shell command on 3 lab nodes each),
// median of RUNS cold runs. Needs a running lab (bench/run.sh runbook starts one) and ansible-playbook
// (Debian package ansible: installed here if missing and running as root). --bin PATH (repeatable)
// picks the plasmactl to measure (default bin/run.js), e.g. --bin dist/plasmactl --bin bin/run.js.
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtempSync, readFileSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {binsFromArgv, fmt, median, timeOnce} from './lib.mjs'

const RUNS = Number(process.env.RUNS ?? 5)
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

const state = join(dir, 'state')
// Interleaved rounds when several binaries are measured; the journal analysis below is of the last run.
const plasma = (bin) => () =>
  timeOnce([...bin.argv, 'runbook', 'run', rb, '--yes'], {env: {PLASMACTL_STATE_DIR: state}})
for (const bin of bins) plasma(bin)()
const times = bins.map(() => [])
for (let i = 0; i < RUNS; i++) bins.forEach((bin, b) => times[b].push(plasma(bin)()))
const tBins = times.map((xs) => median(xs))

// Per-step overhead after the first connection: from the newest journal, the time between the
// first step's end and the last step's end, over the remaining steps.
const journals = readdirSync(join(state, 'runbooks')).sort()
const events = readFileSync(join(state, 'runbooks', journals.at(-1)), 'utf8')
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

for (const [b, bin] of bins.entries())
  console.log(`${bin.label} runbook run (${STEPS} steps × 3 nodes): median ${fmt(tBins[b])} of ${RUNS}`)
console.log(
  `per step after the first connection ≈ ${perStep.toFixed(1)} ms wall, of which plasmactl's own overhead ≈ ${overhead.toFixed(1)} ms (the rest is the slowest host's command)`,
)

let ansible = spawnSync('ansible-playbook', ['--version']).status === 0
if (!ansible && process.getuid?.() === 0) {
  console.log('installing ansible (apt-get install -y ansible)…')
  ansible =
    spawnSync('bash', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ansible >/dev/null'], {
      stdio: 'inherit',
    }).status === 0
}
if (!ansible) {
  console.log('ansible-playbook not found: install it (apt-get install -y ansible) to compare')
} else {
  const play = (cfg) => () =>
    timeOnce(['ansible-playbook', join(dir, 'play.yaml')], {
      env: {ANSIBLE_CONFIG: join(dir, cfg), ANSIBLE_HOST_KEY_CHECKING: 'True'},
    })
  play('default.cfg')()
  const tDef = median(Array.from({length: RUNS}, play('default.cfg')))
  play('fast.cfg')()
  const tFast = median(Array.from({length: RUNS}, play('fast.cfg')))
  const vs = (t) => bins.map((bin, b) => `${bin.label} ${(t / tBins[b]).toFixed(1)}× faster`).join(', ')
  console.log(`ansible-playbook defaults:                   median ${fmt(tDef)}  (${vs(tDef)})`)
  console.log(`ansible-playbook pipelining + ControlPersist: median ${fmt(tFast)}  (${vs(tFast)}; goal >= 10×)`)
}
