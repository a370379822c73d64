import assert from 'node:assert/strict'
import {execFile, spawn} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {chmod, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {after, before, describe, it} from 'node:test'
import {parseDocument} from 'yaml'
import {ChainfireClient} from '../../src/adapters/chainfire/index.js'
import {isRunning, waitForExit} from '../../src/adapters/exec/processes.js'
import {cliCommand, eventually, exitOf, type Lab, startLab} from '../helpers/lab.js'

/** PlasmaVMC against real QEMU processes (`lab up --with vm`): crash, hang, orphan, bad records, restart. */
describe('vm check / restart / reconcile-orphans against real QEMU', () => {
  let lab: Lab
  let client: ChainfireClient
  const vmPidFile = (host: string, id: string) => join(lab.dir, 'nodes', host, 'vm', `${id}.pid`)
  const vmPid = async (host: string, id: string) => Number((await readFile(vmPidFile(host, id), 'utf8')).trim())
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const check = async (): Promise<{exitCode: number; data: any; raw: string}> => {
    const r = await lab.cli(['vm', 'check', '--json'])
    assert.ok(r.json, `no JSON: ${r.stdout}\n${r.stderr}`)
    return {exitCode: r.exitCode, data: r.json.data, raw: r.stdout + r.stderr}
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const vm = (data: any, id: string) => data.vms.find((v: {id: string}) => v.id === id)
  /** Starts a QEMU on n2 that no record accounts for (an orphan); returns its pid and QMP socket. */
  const startStray = async (name: string) => {
    const sock = join(lab.dir, 'nodes', 'n2', 'vm', `${name}.qmp`)
    const pidFile = join(lab.dir, 'nodes', 'n2', 'vm', `${name}.pid`)
    const started = await lab.sshExec(
      'n2',
      `qemu-system-x86_64 -machine none -nodefaults -nographic -display none -qmp unix:${sock},server=on,wait=off -daemonize -pidfile ${pidFile}`,
    )
    assert.equal(started.exitCode, 0, started.stderr)
    return {pid: Number((await readFile(pidFile, 'utf8')).trim()), sock}
  }

  before(async () => {
    lab = await startLab({nodes: 3, args: ['--with', 'vm', '--vms-per-host', '2']})
    client = new ChainfireClient({endpoints: lab.nodes.map((n) => ({name: n.name, url: n.clientUrl}))})
  })

  after(async () => {
    client?.close()
    await lab?.stop()
  })

  it('lab up --with vm: QEMU per host node, records in ChainFire, all running', async () => {
    assert.deepEqual([...new Set(lab.up.components.map((p: {component: string}) => p.component))], ['vm'])
    const r = await check()
    assert.equal(r.exitCode, 0, r.raw)
    assert.equal(r.data.status, 'ok')
    assert.equal(r.data.vms.length, 6)
    for (const v of r.data.vms) {
      assert.equal(v.observed, 'running', JSON.stringify(v))
      assert.equal(v.qmpStatus, 'running')
      assert.ok(v.pid > 0)
    }
    assert.deepEqual(
      r.data.hosts.map((h: {host: string}) => h.host),
      ['n1', 'n2', 'n3'],
    )
    for (const h of r.data.hosts) {
      assert.equal(h.reachable, true)
      assert.equal(h.serviceActive, true)
      assert.equal(h.qemuProcesses, 2)
    }
    // The processes belong to the lab user (started through the node's sshd).
    const pid = await vmPid('n1', 'vm-n1-01')
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1])
    const want =
      process.getuid?.() === 0 ? Number((await lab.sshExec('n1', 'id -u')).stdout.trim()) : process.getuid?.()
    assert.equal(uid, want)
    const list = await lab.cli(['vm', 'list'])
    assert.equal(list.exitCode, 0)
    assert.match(list.stdout, /^vm-n2-02\s+lab-vm-n2-02\s+n2\s+running\s+running\s+\d+\s+no$/m)
    const health = await lab.cli(['health', '--json'])
    const comp = health.json.data.components.find((c: {component: string}) => c.component === 'plasmavmc')
    assert.equal(comp.status, 'ok', JSON.stringify(comp))
  })

  it('a held cluster lock refuses vm restart, evacuate and reconcile-orphans (exit 6, naming the holder); SIGTERM ends the holder with 143 and its state left', async () => {
    // This lab's own state dir: the lock files of labs of other work trees (context "lab" too) stay apart.
    const env = {PLASMACTL_STATE_DIR: join(lab.dir, '..', 'lock-state')}
    const holderFile = join(lab.dir, '..', 'lock-holder.yaml')
    await writeFile(
      holderFile,
      'apiVersion: plasmactl/v1\nkind: Runbook\nmetadata:\n  name: lockholder\nsteps:\n  - id: wait\n    kind: run\n    on: n1\n    command: sleep 300\n',
    )
    // Through a shell, as systemd or timeout(1) would start it: the shell reports the exit status it saw.
    const [cmd, pre] = cliCommand()
    const q = (a: string) => `'${a.replaceAll("'", `'\\''`)}'`
    const line = [cmd, ...pre, 'runbook', 'run', holderFile, '--yes'].map(q).join(' ')
    const holder = spawn('sh', ['-c', `${line}; echo "exit=$?"`], {
      env: {...process.env, PLASMACTL_CONFIG: lab.configPath, ...env},
    })
    let out = ''
    holder.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    holder.stderr.setEncoding('utf8').on('data', (d: string) => (out += d))
    const ended = exitOf(holder).then((e) => e.code)
    try {
      const held = await eventually(
        async () => {
          const kv = (await client.get('/plasmactl/locks/cluster')).kvs[0]
          return kv && (JSON.parse(kv.value.toString()) as {pid: number; runId: string; purpose: string})
        },
        60_000,
        'the runbook holds the cluster lock',
      )
      assert.equal(held.purpose, 'runbook lockholder')
      const pids = {n1: await vmPid('n1', 'vm-n1-01'), n2: await vmPid('n2', 'vm-n2-01')}
      for (const args of [
        ['vm', 'restart', 'vm-n1-01', '--yes'],
        ['vm', 'evacuate', 'n2', '--force', '--yes'],
        ['vm', 'reconcile-orphans', '--yes'],
      ]) {
        const r = await lab.cli(args, {env})
        const text = r.stdout + r.stderr
        assert.equal(r.exitCode, 6, `${args.join(' ')}: exit ${r.exitCode}\n${text}`)
        for (const part of ['locked by', `pid ${held.pid}`, held.runId, 'runbook lockholder'])
          assert.ok(text.includes(part), `${args.join(' ')}: the refusal names ${part}\n${text}`)
      }
      // A dry run changes nothing and takes no lock.
      const dry = await lab.cli(['vm', 'restart', 'vm-n1-01', '--dry-run'], {env})
      assert.equal(dry.exitCode, 0, dry.stderr)
      assert.deepEqual(
        {n1: await vmPid('n1', 'vm-n1-01'), n2: await vmPid('n2', 'vm-n2-01')},
        pids,
        'nothing restarted',
      )
      assert.ok((await isRunning(pids.n1)) && (await isRunning(pids.n2)))

      // SIGTERM (systemd stop, timeout(1)): the run records where it stopped, gives the lock back, exits 143.
      process.kill(held.pid, 'SIGTERM')
      assert.equal(await ended, 0)
      assert.match(out, /exit=143/, out)
      assert.match(out, /aborted at step wait.*resume with: plasmactl runs resume/, out)
      assert.equal((await client.get('/plasmactl/locks/cluster')).kvs.length, 0, 'the lease was given back')
    } finally {
      if (holder.exitCode === null) holder.kill('SIGKILL')
    }
  })

  it('a killed QEMU is reported crashed; vm restart brings it back and QMP says running', async () => {
    const pid = await vmPid('n1', 'vm-n1-01')
    process.kill(pid, 'SIGKILL')
    assert.ok(await waitForExit(pid, 10_000))
    const r = await check()
    assert.equal(r.exitCode, 5, r.raw)
    const v = vm(r.data, 'vm-n1-01')
    assert.equal(v.observed, 'crashed')
    assert.equal(v.problem, 'crashed')
    assert.equal(v.pid, null)
    assert.ok(
      r.data.findings.some(
        (f: {status: string; message: string}) => f.status === 'crit' && /vm-n1-01.*crashed/.test(f.message),
      ),
    )
    assert.equal(vm(r.data, 'vm-n1-02').observed, 'running', 'the other VMs are unaffected')

    // Without a terminal and without --yes it refuses to act (exit 6) and changes nothing.
    const refused = await lab.cli(['vm', 'restart', 'vm-n1-01'])
    assert.equal(refused.exitCode, 6, refused.stderr)
    assert.match(refused.stderr, /--yes/)

    const restart = await lab.cli(['vm', 'restart', 'vm-n1-01', '--yes', '--json'])
    assert.equal(restart.exitCode, 0, restart.stdout + restart.stderr)
    assert.equal(restart.json.data.qmpStatus.status, 'running')
    assert.equal(restart.json.data.qmpStatus.running, true)
    const newPid = await vmPid('n1', 'vm-n1-01')
    assert.notEqual(newPid, pid)
    assert.ok(await isRunning(newPid))
    const after = await check()
    assert.equal(after.exitCode, 0, after.raw)
    assert.equal(vm(after.data, 'vm-n1-01').observed, 'running')
    assert.equal(vm(after.data, 'vm-n1-01').pid, newPid)
  })

  it('a QEMU with no record is reported as an orphan; reconcile-orphans --dry-run lists it, a run stops it', async () => {
    const {pid, sock} = await startStray('stray')
    const r = await check()
    assert.equal(r.exitCode, 4, r.raw)
    assert.equal(r.data.status, 'warn')
    assert.equal(r.data.orphans.length, 1)
    assert.deepEqual(
      {host: r.data.orphans[0].host, pid: r.data.orphans[0].pid, qmpSocket: r.data.orphans[0].qmpSocket},
      {host: 'n2', pid, qmpSocket: sock},
    )
    assert.equal(r.data.vms.filter((v: {observed: string}) => v.observed === 'running').length, 6)

    const dry = await lab.cli(['vm', 'reconcile-orphans', '--dry-run', '--json'])
    assert.equal(dry.exitCode, 0, dry.stderr)
    assert.equal(dry.json.data.orphans.length, 1)
    assert.deepEqual(dry.json.data.stopped, [])
    assert.ok(await isRunning(pid), 'dry run stops nothing')

    const noYes = await lab.cli(['vm', 'reconcile-orphans'])
    assert.equal(noYes.exitCode, 6)
    assert.ok(await isRunning(pid))

    const run = await lab.cli(['vm', 'reconcile-orphans', '--yes', '--json'])
    assert.equal(run.exitCode, 0, run.stdout + run.stderr)
    assert.deepEqual(run.json.data.stopped, [{host: 'n2', pid}])
    assert.ok(await waitForExit(pid, 10_000))
    const after = await check()
    assert.equal(after.exitCode, 0, after.raw)
    assert.equal(after.data.orphans.length, 0)
  })

  it('a SIGSTOPped QEMU is reported hung (QMP does not answer); restart replaces it', async () => {
    const pid = await vmPid('n3', 'vm-n3-02')
    process.kill(pid, 'SIGSTOP')
    try {
      const r = await lab.cli(['vm', 'check', '--qmp-timeout', '1s', '--json'])
      assert.equal(r.exitCode, 5, r.stdout + r.stderr)
      const v = vm(r.json.data, 'vm-n3-02')
      assert.equal(v.observed, 'hung')
      assert.equal(v.problem, 'hung')
      assert.equal(v.pid, pid)
      assert.equal(v.processState, 'T')
      assert.equal(
        r.json.data.vms.filter((x: {observed: string}) => x.observed === 'running').length,
        5,
        'one hung VM does not hide the others',
      )
      const restart = await lab.cli(['vm', 'restart', 'vm-n3-02', '--yes', '--json'])
      assert.equal(restart.exitCode, 0, restart.stdout + restart.stderr)
      assert.equal(restart.json.data.stoppedPid, pid)
      assert.equal(restart.json.data.qmpStatus.status, 'running')
      assert.ok(await waitForExit(pid, 10_000))
    } finally {
      try {
        process.kill(pid, 'SIGCONT')
      } catch {
        // already gone
      }
    }
    const after = await check()
    assert.equal(after.exitCode, 0, after.raw)
  })

  it('a paused VM (QMP stop) is reported paused (warn)', async () => {
    const sock = join(lab.dir, 'nodes', 'n2', 'vm', 'vm-n2-01.qmp')
    const {QmpSession} = await import('../../src/adapters/qmp/index.js')
    const ssh = await lab.ssh('n2')
    const s = await QmpSession.open(await ssh.forwardOutStreamLocal(sock, {timeoutMs: 5000}), {
      timeoutMs: 5000,
      where: sock,
    })
    await s.execute('stop', undefined, 5000)
    s.close()
    const r = await check()
    assert.equal(r.exitCode, 4, r.raw)
    assert.equal(vm(r.data, 'vm-n2-01').observed, 'paused')
    const s2 = await QmpSession.open(await ssh.forwardOutStreamLocal(sock, {timeoutMs: 5000}), {
      timeoutMs: 5000,
      where: sock,
    })
    await s2.execute('cont', undefined, 5000)
    s2.close()
    assert.equal((await check()).exitCode, 0)
  })

  it('malformed VM records are reported as invalid by key; they never crash the check or hide the others', async () => {
    await client.put('/plasmavmc/vms/bad-json', '{"id": "bad-json", name: oops')
    await client.put('/plasmavmc/vms/missing', JSON.stringify({id: 'missing', name: 'no host'}))
    await client.put(
      '/plasmavmc/vms/wrong-id',
      JSON.stringify({
        id: 'other',
        name: 'x',
        host: 'n1',
        desiredState: 'running',
        qmpSocket: '/x.qmp',
        startCommand: 'true',
      }),
    )
    await client.put(
      '/plasmavmc/vms/bad-state',
      JSON.stringify({
        id: 'bad-state',
        name: 'x',
        host: 'n1',
        desiredState: 'dancing',
        qmpSocket: 'relative.qmp',
        startCommand: 'true',
      }),
    )
    try {
      const r = await check()
      assert.equal(r.exitCode, 4, r.raw)
      const byKey = Object.fromEntries(r.data.invalidRecords.map((i: {key: string; error: string}) => [i.key, i.error]))
      assert.deepEqual(Object.keys(byKey).sort(), [
        '/plasmavmc/vms/bad-json',
        '/plasmavmc/vms/bad-state',
        '/plasmavmc/vms/missing',
        '/plasmavmc/vms/wrong-id',
      ])
      assert.match(byKey['/plasmavmc/vms/bad-json'], /not JSON/)
      assert.match(byKey['/plasmavmc/vms/missing'], /missing field "host"/)
      assert.match(byKey['/plasmavmc/vms/missing'], /missing field "startCommand"/)
      assert.match(byKey['/plasmavmc/vms/wrong-id'], /does not match the key/)
      assert.match(byKey['/plasmavmc/vms/bad-state'], /desiredState/)
      assert.match(byKey['/plasmavmc/vms/bad-state'], /qmpSocket/)
      assert.equal(r.data.vms.length, 6)
      assert.ok(r.data.vms.every((v: {observed: string}) => v.observed === 'running'))
      const text = await lab.cli(['vm', 'check'])
      assert.match(text.stdout, /invalid VM record \/plasmavmc\/vms\/bad-json: not JSON/)
      const restart = await lab.cli(['vm', 'restart', 'missing', '--yes'])
      assert.equal(restart.exitCode, 2)
      assert.match(restart.stderr, /invalid VM record \/plasmavmc\/vms\/missing/)
    } finally {
      await client.deletePrefix('/plasmavmc/vms/bad-')
      await client.deletePrefix('/plasmavmc/vms/missing')
      await client.deletePrefix('/plasmavmc/vms/wrong-id')
    }
  })

  it('host failure: a relocatable VM restarts on another host (record updated); a pinned one is refused', async () => {
    const pinned = await lab.cli(['vm', 'restart', 'vm-n1-02', '--host', 'n2', '--yes'])
    assert.equal(pinned.exitCode, 6, pinned.stderr)
    assert.match(pinned.stderr, /not relocatable/)
    const oldPid = await vmPid('n1', 'vm-n1-01')
    const moved = await lab.cli(['vm', 'restart', 'vm-n1-01', '--host', 'n2', '--yes', '--json'])
    assert.equal(moved.exitCode, 0, moved.stdout + moved.stderr)
    assert.equal(moved.json.data.relocated, true)
    assert.equal(moved.json.data.stoppedPid, oldPid)
    assert.ok(await waitForExit(oldPid, 10_000))
    const rec = JSON.parse((await client.get('/plasmavmc/vms/vm-n1-01')).kvs[0].value.toString())
    assert.equal(rec.host, 'n2')
    const r = await check()
    assert.equal(r.exitCode, 0, r.raw)
    assert.equal(vm(r.data, 'vm-n1-01').host, 'n2')
    assert.equal(vm(r.data, 'vm-n1-01').observed, 'running')
  })
  it('vm evacuate: a failed host (service inactive) has its relocatable VMs moved, pinned ones reported', async () => {
    const agent = join(lab.dir, 'nodes', 'n3', 'bin', 'plasmavmc')
    assert.equal((await lab.sshExec('n3', `${agent} plasmavmc stop`)).exitCode, 0)
    try {
      const r = await check()
      assert.equal(r.exitCode, 5)
      assert.ok(r.data.findings.some((f: {message: string}) => /PlasmaVMC service on n3 is not active/.test(f.message)))
      const dry = await lab.cli(['vm', 'evacuate', 'n3', '--dry-run', '--json'])
      const outcome = (d: {vms: {id: string; outcome: string}[]}) =>
        Object.fromEntries(d.vms.map((v) => [v.id, v.outcome]))
      assert.deepEqual(outcome(dry.json.data), {'vm-n3-01': 'would-move', 'vm-n3-02': 'pinned'})
      const run = await lab.cli(['vm', 'evacuate', 'n3', '--yes', '--json'])
      assert.equal(run.exitCode, 4, run.stdout + run.stderr)
      assert.deepEqual(outcome(run.json.data), {'vm-n3-01': 'moved', 'vm-n3-02': 'pinned'})
      const after = await check()
      assert.notEqual(vm(after.data, 'vm-n3-01').host, 'n3')
      assert.equal(vm(after.data, 'vm-n3-01').observed, 'running')
    } finally {
      await lab.sshExec('n3', `${agent} plasmavmc start`)
    }
    assert.equal((await check()).exitCode, 0)
  })

  it('production context, in a real terminal (tmux): vm evacuate wants the host name typed and reconcile-orphans the context name; a wrong name refuses (exit 6) and changes nothing', async () => {
    const doc = parseDocument(await readFile(lab.configPath, 'utf8'))
    const idx = (doc.toJS().contexts as {name: string}[]).findIndex((c) => c.name === 'lab')
    doc.setIn(['contexts', idx, 'environment'], 'production')
    const dir = join(lab.dir, '..')
    const prodConfig = join(dir, 'production.yaml')
    await writeFile(prodConfig, doc.toString())
    const [cmd, pre] = cliCommand()
    await writeFile(join(dir, 'plasmactl'), `#!/bin/sh\nexec ${[cmd, ...pre].map((a) => `'${a}'`).join(' ')} "$@"\n`)
    await chmod(join(dir, 'plasmactl'), 0o755)
    const socket = `plasmactl-vm-confirm-${randomBytes(4).toString('hex')}`
    const tmux = (...args: string[]) => promisify(execFile)('tmux', ['-L', socket, ...args])
    const pane = async () => (await tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', 'c')).stdout
    const waitFor = (want: RegExp, what: string) =>
      eventually(async () => want.test(await pane()), 120_000, what).catch(async (error) => {
        throw new Error(`${(error as Error).message}\n--- pane ---\n${await pane()}`)
      })
    /** Runs LINE at the shell prompt after clearing the screen (so earlier output cannot match). */
    const type = async (line: string) => {
      await tmux('send-keys', '-t', 'c', '-l', line)
      await tmux('send-keys', '-t', 'c', 'Enter')
    }
    const runAtPrompt = async (line: string) => {
      await tmux('send-keys', '-t', 'c', 'C-l')
      await type(`clear; ${line}; echo "EXIT=$?"`)
    }
    const env = `env PATH=${dir}:$PATH PLASMACTL_CONFIG=${prodConfig} PLASMACTL_STATE_DIR=${join(dir, 'tty-state')}`
    await tmux('new-session', '-d', '-s', 'c', '-x', '200', '-y', '50', `${env} PS1='$ ' bash --norc --noprofile -i`)
    const onN2 = async () =>
      (await check()).data.vms
        .filter((v: {host: string}) => v.host === 'n2')
        .map((v: {id: string; pid: number}) => `${v.id}:${v.pid}`)
        .sort()
    try {
      // vm evacuate: the host name, not "y", not another host's name.
      const before = await onN2()
      for (const wrong of ['y', 'n1']) {
        await runAtPrompt('plasmactl vm evacuate n2 --force')
        await waitFor(
          /PRODUCTION context: type the host name \(n2\) to confirm/,
          'the typed-name prompt of vm evacuate',
        )
        await type(wrong)
        await waitFor(/EXIT=\d+/, `vm evacuate to end after "${wrong}"`)
        assert.match(await pane(), /EXIT=6/)
        assert.match(await pane(), /evacuation of n2 not confirmed; nothing was changed/)
        assert.deepEqual(await onN2(), before, `"${wrong}" moved nothing`)
      }

      // vm reconcile-orphans: the context name.
      const stray = (await startStray('tty-stray')).pid
      await runAtPrompt('plasmactl vm reconcile-orphans')
      await waitFor(/type the context name \(lab\) to confirm/, 'the typed-name prompt of reconcile-orphans')
      await type('n2')
      await waitFor(/EXIT=\d+/, 'reconcile-orphans to end after a wrong name')
      assert.match(await pane(), /EXIT=6/)
      assert.ok(await isRunning(stray), 'a wrong name stops nothing')
      await runAtPrompt('plasmactl vm reconcile-orphans')
      await waitFor(/type the context name \(lab\) to confirm/, 'the typed-name prompt again')
      await type('lab')
      await waitFor(/EXIT=\d+/, 'reconcile-orphans to end')
      assert.match(await pane(), /EXIT=0/)
      assert.ok(await waitForExit(stray, 10_000), 'the name stops the orphan')
    } finally {
      await tmux('kill-server').catch(() => undefined)
    }
  })
})
