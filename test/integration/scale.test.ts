/**
 * Fleet scale (issue 16): a lab with 50 extra hosts (`lab up --hosts 50`, sshd only), fan-out to
 * all 53 machines, grouped output, a dead host (sshd stopped) and a hung one (sshd SIGSTOPped) in
 * the same run, sshd's MaxStartups answered by retrying the dropped handshake, and `lab down`.
 * No timed assertions: outcomes only (speed lives in bench/scale.mjs).
 */
import assert from 'node:assert/strict'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parse as parseYaml} from 'yaml'
import {isRunning, readPidFile, run, which} from '../../src/adapters/exec/index.js'
import {connectRetrying, SshClient, type SshConnectOptions} from '../../src/adapters/ssh/index.js'
import {runCli, startLab, type Lab} from '../helpers/lab.js'

const HOSTS = 50
// Generous, so that a loaded CI machine's slow handshakes are not taken for a hung host; the hung
// host then costs this once.
const CONNECT = ['--connect-timeout', '20s']

describe('fleet scale: 50 extra hosts', () => {
  let lab: Lab
  const sshdPidFile = (name: string) => join(lab.dir, 'nodes', name, 'sshd', 'sshd.pid')
  const hostTarget = (name: string): SshConnectOptions => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const h = lab.up.hosts.find((x: any) => x.name === name)
    return {...lab.sshTarget('n1'), host: h.address, port: h.sshPort}
  }

  before(async () => {
    lab = await startLab({args: ['--hosts', String(HOSTS)]})
  })
  after(async () => {
    await lab?.stop()
  })

  it('lab up --hosts 50 adds sshd-only plasmavmc hosts that lab status covers; more than 100 is bad input', async () => {
    assert.equal(lab.up.hosts.length, HOSTS)
    assert.equal(lab.up.hosts[0].name, 'h1')
    assert.equal(lab.up.hosts[0].address, `${lab.addressPrefix}.101`)
    assert.equal(lab.up.hosts.at(-1).address, `${lab.addressPrefix}.150`)
    const status = await lab.cli(['lab', 'status', '--json'])
    assert.equal(status.exitCode, 0, status.stdout + status.stderr)
    assert.equal(status.json.data.hosts.length, HOSTS)
    assert.ok(
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      status.json.data.hosts.every((h: any) => h.sshd.alive),
      'every host sshd is up',
    )
    const config = parseYaml(await readFile(lab.configPath, 'utf8')) as {
      contexts: {nodes: {name: string; roles: string[]; chainfire?: unknown}[]}[]
    }
    const h1 = config.contexts[0].nodes.find((n) => n.name === 'h1')
    assert.deepEqual(h1?.roles, ['plasmavmc-host'])
    assert.equal(h1?.chainfire, undefined, 'an extra host runs no ChainFire member')
    const tooMany = await runCli(['lab', 'up', '--hosts', '101', '--dir', join(lab.dir, 'never')])
    assert.equal(tooMany.exitCode, 2, tooMany.stderr)
  })

  it('exec all: one entry per host in --json, identical outputs grouped in one block', async () => {
    const r = await lab.cli(['exec', 'all', '--json', ...CONNECT, '--', 'uname', '-s'])
    assert.equal(r.exitCode, 0, r.stdout + r.stderr)
    assert.equal(r.json.data.hosts.length, HOSTS + 3)
    assert.deepEqual(r.json.data.summary, {ok: HOSTS + 3, failed: 0, unreachable: 0, timedOut: 0})
    const names = new Set(r.json.data.hosts.map((h: {node: string}) => h.node))
    assert.equal(names.size, HOSTS + 3)
    const grouped = await lab.cli(['exec', 'all', '--group', ...CONNECT, '--', 'uname', '-s'])
    assert.equal(grouped.exitCode, 0, grouped.stderr)
    const lines = grouped.stdout.trim().split('\n')
    assert.deepEqual(lines, [
      `── n[1-3],h[1-${HOSTS}] (${HOSTS + 3} hosts, exit 0)`,
      'Linux',
      `${HOSTS + 3} ok (of ${HOSTS + 3})`,
    ])
  })

  it('a dead host and a hung host: failures first with their reason, the run finishes, the hung host is a timeout', async () => {
    const deadPid = await readPidFile(sshdPidFile('h7'))
    const hungPid = await readPidFile(sshdPidFile('h13'))
    assert.ok(deadPid && hungPid)
    process.kill(deadPid, 'SIGTERM')
    process.kill(hungPid, 'SIGSTOP')
    try {
      const r = await lab.cli(['exec', 'all', '--json', ...CONNECT, '--', 'true'])
      assert.equal(r.exitCode, 3, r.stdout + r.stderr)
      assert.deepEqual(r.json.data.summary, {ok: HOSTS + 1, failed: 0, unreachable: 1, timedOut: 1})
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const by = new Map<string, any>(r.json.data.hosts.map((h: {node: string}) => [h.node, h]))
      assert.equal(by.get('h7').failure, 'connection')
      assert.match(by.get('h7').error, /connection refused/)
      assert.equal(by.get('h7').timedOut, undefined)
      assert.equal(by.get('h13').timedOut, true)
      assert.match(by.get('h13').error, /no SSH handshake within 20000 ms/)
      const text = await lab.cli(['exec', 'all', ...CONNECT, '--', 'true'])
      assert.equal(text.exitCode, 3)
      const lines = text.stdout.trim().split('\n')
      assert.match(lines[0], /^h7: unreachable: .*connection refused/)
      assert.match(lines[1], /^h13: timed out: .*no SSH handshake within/)
      assert.equal(lines.at(-1), `${HOSTS + 1} ok, 1 unreachable, 1 timed out (of ${HOSTS + 3}; not ok: h[7,13])`)
      assert.equal(lines.length, 3, 'healthy hosts print nothing for `true`')
    } finally {
      process.kill(hungPid, 'SIGCONT')
    }
    const up = await lab.cli(['lab', 'up', '--json'])
    assert.equal(up.exitCode, 0, up.stderr)
    assert.equal(
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      up.json.data.hosts.find((h: any) => h.name === 'h7').sshd.started,
      true,
      'lab up restarts the dead host',
    )
  })

  it('sshd over MaxStartups drops handshakes: connecting with retries gets every connection through', async () => {
    const cfgFile = join(lab.dir, 'nodes', 'h2', 'sshd', 'sshd_config')
    const cfg = await readFile(cfgFile, 'utf8')
    await writeFile(cfgFile, cfg.replace(/^MaxStartups .*$/m, 'MaxStartups 2:100:2'))
    const pid = await readPidFile(sshdPidFile('h2'))
    process.kill(pid!, 'SIGTERM')
    for (let i = 0; i < 100 && (await isRunning(pid, 'sshd')); i++) await new Promise((r) => setTimeout(r, 50))
    const started = await run((await which('sshd')) ?? '/usr/sbin/sshd', [
      '-f',
      cfgFile,
      '-E',
      join(lab.dir, 'nodes', 'h2', 'sshd', 'sshd.log'),
    ])
    assert.equal(started.exitCode, 0, started.stderr)
    const target = hostTarget('h2')
    for (let i = 0; i < 100 && !(await readPidFile(sshdPidFile('h2'))); i++) await new Promise((r) => setTimeout(r, 50))
    // Settled, not Promise.all: a connection that got through is closed even when another did not
    // (an open one would keep this file's process alive after its tests).
    const settled = await Promise.allSettled(Array.from({length: 8}, () => connectRetrying(target)))
    const clients = settled.flatMap((p) => (p.status === 'fulfilled' ? [p.value] : []))
    try {
      const failed = settled.flatMap((p) => (p.status === 'rejected' ? [String(p.reason)] : []))
      assert.deepEqual(failed, [], 'every connection gets through with retries')
      const outs = await Promise.all(clients.map((c) => c.exec('echo ok')))
      assert.deepEqual(
        outs.map((o) => o.stdout.trim()),
        Array(8).fill('ok'),
      )
    } finally {
      await Promise.all(clients.map((c) => c.close()))
    }
    // The server did drop handshakes (else this test proves nothing about retrying them).
    const log = await readFile(join(lab.dir, 'nodes', 'h2', 'sshd', 'sshd.log'), 'utf8')
    assert.match(log, /drop connection|beginning MaxStartups throttling/, 'sshd throttled the burst')
    // Without retries, the same burst loses connections.
    const plain = await Promise.allSettled(Array.from({length: 8}, () => SshClient.connect(target)))
    for (const p of plain) if (p.status === 'fulfilled') await p.value.close()
    assert.ok(
      plain.some((p) => p.status === 'rejected'),
      'a burst over MaxStartups without retries fails some handshakes',
    )
  })

  it('lab down stops every host sshd', async () => {
    const pids = await Promise.all(lab.up.hosts.map((h: {name: string}) => readPidFile(sshdPidFile(h.name))))
    const down = await lab.cli(['lab', 'down', '--json'])
    assert.equal(down.exitCode, 0, down.stderr)
    assert.equal(down.json.data.hosts.length, HOSTS)
    for (const pid of pids) assert.equal(await isRunning(pid, 'sshd'), false, `sshd ${pid} stopped`)
  })
})
