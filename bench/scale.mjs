// Fleet scale (issue 16): plasmactl exec against pdsh and Ansible on the same lab hosts, side by side
// in interleaved rounds (medians), with `node -e 0` beside them; 50 hosts vs 1; the curve at 10, 25,
// 50 and 100 hosts; peak RSS with 50 connections open; a dead and a hung host among 50.
// Starts its own lab (3 nodes + 100 extra hosts, `lab up --hosts 100`) in a temp dir and removes it.
//   node bench/scale.mjs          (ROUNDS=5)
//   VM=1 node bench/scale.mjs     `vm check` with 2 VMs per host, 50 hosts vs 1, and with a dead and a hung host among
//                                 the 50 (a lab of 50 hosts --with vm; only that)
// Needs: npm run build, pdsh and ansible (apt-get install -y pdsh ansible), root or a user that may run sshd.
import {mkdtempSync, rmSync, writeFileSync, chmodSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {execFileSync, spawnSync} from 'node:child_process'
import {fmt, interleaved, peakRssKiB, timeOnce} from './lib.mjs'

const ROUNDS = Number(process.env.ROUNDS ?? 5)
const WITH_VM = process.env.VM === '1'
const HOSTS = WITH_VM ? 50 : 100
const base = mkdtempSync('/tmp/plasmactl-scale-')
chmodSync(base, 0o755)
const labDir = join(base, 'lab')
const env = {PLASMACTL_CONFIG: join(base, 'config.yaml'), PLASMACTL_STATE_DIR: join(base, 'state')}
const cli = (...args) => [process.execPath, 'bin/run.js', ...args]
const runCli = (args, allowFail = false) => {
  const r = spawnSync(cli(...args)[0], cli(...args).slice(1), {env: {...process.env, ...env}, encoding: 'utf8'})
  if (r.status !== 0 && !allowFail) throw new Error(`plasmactl ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return r
}

let prefix
for (let i = 0; i < 50; i++) {
  prefix = `127.98.${Math.floor(Math.random() * 250)}`
  if (!execFileSync('ss', ['-ltn']).toString().includes(` ${prefix}.`)) break
}

function cleanup() {
  const down = spawnSync(process.execPath, ['bin/run.js', 'lab', 'down', '--dir', labDir, '--purge'], {
    env: {...process.env, ...env},
    encoding: 'utf8',
  })
  // A failed `lab down` keeps the directory: its pid files are what stops the processes left behind.
  if (down.status !== 0)
    console.error(
      `lab down failed (exit ${down.status}); stop the lab with: plasmactl lab down --dir ${labDir} --purge\n${down.stderr}`,
    )
  else rmSync(base, {recursive: true, force: true})
}
process.once('SIGINT', () => {
  cleanup()
  process.kill(process.pid, 'SIGINT')
})

try {
  const t0 = Date.now()
  runCli([
    'lab',
    'up',
    '--dir',
    labDir,
    '--address-prefix',
    prefix,
    '--hosts',
    String(HOSTS),
    ...(WITH_VM ? ['--with', 'vm', '--vms-per-host', '2'] : []),
  ])
  const up = (Date.now() - t0) / 1000
  const state = JSON.parse(readFileSync(join(labDir, 'lab.json'), 'utf8'))
  const user = state.user
  const hosts = state.hosts
  console.log(
    `# lab up --hosts ${HOSTS}${WITH_VM ? ' --with vm (2 VMs per host)' : ''}: ${up.toFixed(1)} s; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (shared machine, ${ROUNDS} interleaved rounds, medians)`,
  )

  // The same key, known_hosts, user and port for pdsh (through ssh) and Ansible.
  const sshConfig = join(base, 'ssh_config')
  writeFileSync(
    sshConfig,
    `Host *\n  User ${user}\n  Port ${hosts[0].sshPort}\n  IdentityFile ${join(labDir, 'ssh', 'id_ed25519')}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${join(labDir, 'ssh', 'known_hosts')}\n  StrictHostKeyChecking yes\n  BatchMode yes\n  LogLevel ERROR\n`,
  )
  const inventory = join(base, 'inventory.ini')
  writeFileSync(
    inventory,
    `[all]\n${hosts.map((h) => `${h.name} ansible_host=${h.address}`).join('\n')}\n[all:vars]\nansible_user=${user}\nansible_port=${hosts[0].sshPort}\nansible_ssh_common_args='-F ${sshConfig}'\nansible_python_interpreter=/usr/bin/python3\n`,
  )
  const ansibleEnv = {
    ANSIBLE_HOST_KEY_CHECKING: 'False',
    ANSIBLE_LOCALHOST_WARNING: 'False',
    ANSIBLE_DEPRECATION_WARNINGS: 'False',
    ANSIBLE_LOCAL_TEMP: join(base, 'ansible-local'),
  }

  const names = (n) =>
    hosts
      .slice(0, n)
      .map((h) => h.name)
      .join(',')
  const addrs = (n) =>
    hosts
      .slice(0, n)
      .map((h) => h.address)
      .join(',')
  // pdsh's ssh and Ansible wait for a handshake as long as it takes; on a machine this loaded (load
  // average 15-20 on 2 cores) 50 handshakes at once can exceed the lab's 5 s connect timeout.
  const plasmactl =
    (n, forks = 32, cmd = ['true']) =>
    () =>
      timeOnce(cli('exec', names(n), '--forks', String(forks), '--connect-timeout', '60s', '--', ...cmd), {env})
  const pdsh =
    (n, forks = 32) =>
    () =>
      timeOnce(['pdsh', '-R', 'ssh', '-f', String(forks), '-l', user, '-w', addrs(n), 'true'], {
        env: {PDSH_SSH_ARGS: `-F ${sshConfig} -x -l%u %h`},
      })
  const ansible = (n) => () =>
    timeOnce(['ansible', n === HOSTS ? 'all' : names(n), '-i', inventory, '-m', 'command', '-a', 'true', '-f', '50'], {
      env: ansibleEnv,
    })
  const node0 = () => timeOnce([process.execPath, '-e', '0'])
  const show = (title, r) =>
    console.log(
      `\n## ${title}\n${Object.entries(r)
        .map(([k, v]) => `  ${k.padEnd(44)} ${fmt(v)}`)
        .join('\n')}`,
    )

  /** The median time of RUN while h7's sshd is stopped (dead host) and h13's SIGSTOPped (hung host). */
  function withDeadAndHung(run) {
    const pidOf = (h) => Number(readFileSync(join(labDir, 'nodes', h, 'sshd', 'sshd.pid'), 'utf8'))
    const hung = pidOf('h13')
    process.kill(pidOf('h7'), 'SIGTERM')
    process.kill(hung, 'SIGSTOP')
    try {
      return interleaved(Math.max(3, ROUNDS - 2), {faulty: run}).faulty
    } finally {
      process.kill(hung, 'SIGCONT')
    }
  }

  // 1. Side by side at 50 hosts (same fan-out: 50), 50 hosts vs 1.
  if (!WITH_VM) fleet()
  function fleet() {
    const side = interleaved(ROUNDS, {
      'node -e 0': node0,
      'plasmactl exec h1..h50 --forks 50 -- true': plasmactl(50, 50),
      'plasmactl exec h1..h50 (default --forks 32)': plasmactl(50),
      'pdsh -R ssh -f 50 -w h1..h50 true': pdsh(50, 50),
      'ansible -m command -a true -f 50 (50 hosts)': ansible(50),
      'plasmactl exec h1 -- true': plasmactl(1),
      'pdsh -R ssh -w h1 true': pdsh(1),
    })
    show('50 hosts side by side', side)
    const p50 = side['plasmactl exec h1..h50 --forks 50 -- true']
    console.log(
      `  plasmactl/pdsh ${(p50 / side['pdsh -R ssh -f 50 -w h1..h50 true']).toFixed(2)}x (goal <= 1.5x); ansible/plasmactl ${(side['ansible -m command -a true -f 50 (50 hosts)'] / p50).toFixed(2)}x (goal >= 5x); 50 hosts/1 host ${(p50 / side['plasmactl exec h1 -- true']).toFixed(2)}x (goal <= 3x)`,
    )

    // 2. The curve.
    const sizes = [10, 25, 50, 100].filter((n) => n <= HOSTS)
    const curve = interleaved(
      Math.max(3, ROUNDS - 2),
      Object.fromEntries(
        sizes.flatMap((n) => [
          [`plasmactl exec ${n} hosts (--forks 32)`, plasmactl(n)],
          [`pdsh -f 32 ${n} hosts`, pdsh(n)],
        ]),
      ),
    )
    show(`curve at ${sizes.join(', ')} hosts (fan-out 32 for both)`, curve)

    // 3. Peak RSS with 50 connections open at once (each host sleeps 1 s so all 50 are open together).
    const rss = peakRssKiB(cli('exec', names(50), '--forks', '50', '--connect-timeout', '60s', '--', 'sleep', '1'), env)
    console.log(
      `\n## peak RSS, exec on 50 hosts with 50 connections open: ${(rss / 1024).toFixed(1)} MiB (goal < 150 MiB)`,
    )

    // 4. One dead host (sshd stopped) and one hung (sshd SIGSTOPped) among 50.
    const connectTimeout = 20 // long enough that no healthy host times out on this loaded machine
    const healthy = interleaved(Math.max(3, ROUNDS - 2), {healthy: plasmactl(50)}).healthy
    const faulty = withDeadAndHung(() =>
      timeOnce(cli('exec', names(50), '--connect-timeout', `${connectTimeout}s`, '--', 'true'), {
        env,
        allowFail: true,
      }),
    )
    console.log(
      `\n## dead (h7) + hung (h13) among 50: ${fmt(faulty)}; healthy ${fmt(healthy)} + connect timeout ${connectTimeout} s = ${fmt(healthy + connectTimeout)} (goal: faulty <= that)`,
    )
    runCli(['lab', 'up', '--dir', labDir])
  }

  // 5. vm check, 2 VMs per host: 50 hosts against one.
  if (WITH_VM) {
    const hostFlags = (n) => hosts.slice(0, n).flatMap((h) => ['--host', h.name])
    const vm = interleaved(Math.max(3, ROUNDS - 2), {
      'vm check, 1 host (2 VMs)': () => timeOnce(cli('vm', 'check', ...hostFlags(1)), {env, allowFail: true}),
      'vm check, 50 hosts (100 VMs)': () => timeOnce(cli('vm', 'check', ...hostFlags(50)), {env, allowFail: true}),
    })
    show('vm check', vm)
    console.log(
      `  50 hosts/1 host ${(vm['vm check, 50 hosts (100 VMs)'] / vm['vm check, 1 host (2 VMs)']).toFixed(2)}x (goal <= 3x)`,
    )

    // 6. vm check with one dead host (sshd stopped) and one hung (sshd SIGSTOPped) among 50: each costs
    // its connect timeout (the lab context's ssh.connect-timeout) once, never the others' time.
    const connectTimeout = 5
    const faulty = withDeadAndHung(() => timeOnce(cli('vm', 'check', ...hostFlags(50)), {env, allowFail: true}))
    const healthy = vm['vm check, 50 hosts (100 VMs)']
    console.log(
      `\n## vm check, dead (h7) + hung (h13) among 50: ${fmt(faulty)}; healthy ${fmt(healthy)} + connect timeout ${connectTimeout} s = ${fmt(healthy + connectTimeout)} (goal: faulty <= that)`,
    )
  }
} finally {
  cleanup()
}
