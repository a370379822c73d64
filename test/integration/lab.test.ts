import assert from 'node:assert/strict'
import {copyFile, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {request} from 'node:https'
import {request as httpRequest} from 'node:http'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parse as parseYaml} from 'yaml'
import {isRunning} from '../../src/adapters/exec/processes.js'
import {fingerprintSha256, HostKeyRefusedError, parseKnownHosts, SshClient} from '../../src/adapters/ssh/index.js'
import {OperationError} from '../../src/errors.js'
import {eventually, runCli, startLab, type Lab} from '../helpers/lab.js'

const isRoot = process.getuid?.() === 0

interface Got {
  status?: number
  body?: string
  error?: string
}

function get(url: string, tls?: {ca?: Buffer; cert?: Buffer; key?: Buffer}): Promise<Got> {
  return new Promise((resolve) => {
    const req = (url.startsWith('https:') ? request : httpRequest)(url, {timeout: 3000, ...tls}, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => (body += d))
      res.on('end', () => resolve({status: res.statusCode, body}))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', (err) => resolve({error: err.message}))
    req.end()
  })
}

async function healthy(url: string, tls?: {ca?: Buffer; cert?: Buffer; key?: Buffer}): Promise<boolean> {
  const r = await get(`${url}/health`, tls)
  return r.status === 200 && JSON.parse(r.body ?? '{}').health === 'true'
}

describe('lab up (3 nodes)', () => {
  let lab: Lab

  before(async () => {
    lab = await startLab({nodes: 3})
  })

  after(async () => {
    await lab?.stop()
  })

  it('runs a healthy member and its own sshd on every node', async () => {
    assert.equal(lab.nodes.length, 3)
    assert.deepEqual(
      lab.nodes.map((n) => n.address),
      [1, 2, 3].map((i) => `${lab.addressPrefix}.${i}`),
    )
    for (const n of lab.nodes) {
      assert.ok(await healthy(n.clientUrl), `${n.name} /health`)
      const r = await lab.sshExec(n.name, 'id -un; hostname; echo "$SSH_CONNECTION"')
      assert.equal(r.exitCode, 0, r.stderr)
      const [user, hostname, conn] = r.stdout.trim().split('\n')
      assert.equal(user, isRoot ? 'plasmalab' : lab.user)
      assert.ok(hostname.length > 0)
      // The server side of the connection is this node's own address and port.
      assert.equal(conn.split(' ')[2], n.address)
      assert.equal(conn.split(' ')[3], String(n.sshPort))
    }
    const sshdPids = lab.up.nodes.map((n: {sshd: {pid: number}}) => n.sshd.pid)
    assert.equal(new Set(sshdPids).size, 3, 'one sshd per node')
  })

  it('runs the members as the lab user', async () => {
    for (const n of lab.nodes) {
      const pid = await lab.memberPid(n.name)
      assert.ok(pid, `${n.name} has a member pid`)
      const status = await readFile(`/proc/${pid}/status`, 'utf8')
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1])
      if (isRoot) assert.notEqual(uid, 0, 'members must not run as root')
    }
  })

  it('writes the lab context and makes it current', async () => {
    const cfg = parseYaml(await readFile(lab.configPath, 'utf8'))
    assert.equal(cfg['current-context'], 'lab')
    const ctx = cfg.contexts.find((c: {name: string}) => c.name === 'lab')
    assert.equal(ctx.environment, 'lab')
    assert.equal(ctx.lab.dir, lab.dir)
    assert.equal(ctx.ssh.port, 2222)
    assert.equal(ctx.ssh.user, lab.user)
    assert.equal(ctx.ssh['config-file'], 'none')
    assert.equal(ctx.nodes.length, 3)
    assert.deepEqual(ctx.nodes[0].roles, ['chainfire'])
    assert.equal(ctx.nodes[1].chainfire['client-url'], lab.nodes[1].clientUrl)
    assert.match(ctx.services.chainfire.start, /\/nodes\/\{node\}\/bin\/service chainfire start$/)
    // known_hosts has one [addr]:2222 entry per node.
    const kh = parseKnownHosts(await readFile(ctx.ssh['known-hosts'], 'utf8'))
    assert.deepEqual(
      kh.entries.map((e) => e.patterns?.[0]),
      lab.nodes.map((n) => `[${n.address}]:2222`),
    )
  })

  it('lab status reports every node up', async () => {
    const r = await lab.cli(['lab', 'status', '--dir', lab.dir, '--json'])
    assert.equal(r.exitCode, 0, r.stdout + r.stderr)
    assert.equal(r.json.data.status, 'ok')
    for (const n of r.json.data.nodes) {
      assert.ok(n.sshd.alive && n.member.alive && n.health.ok, JSON.stringify(n))
    }
    // Without --dir it finds the lab through the current context.
    const viaContext = await lab.cli(['lab', 'status', '--json'])
    assert.equal(viaContext.json?.data?.dir, lab.dir)
  })

  it('lab up again is idempotent: same pids, nothing started', async () => {
    const before = await Promise.all(lab.nodes.map((n) => lab.memberPid(n.name)))
    const r = await lab.cli(['lab', 'up', '--dir', lab.dir, '--json'])
    assert.equal(r.exitCode, 0, r.stdout + r.stderr)
    assert.deepEqual(r.json.data.started, {sshd: 0, members: 0})
    assert.deepEqual(
      r.json.data.nodes.map((n: {member: {pid: number}}) => n.member.pid),
      before,
    )
    assert.deepEqual(
      r.json.data.nodes.map((n: {sshd: {pid: number}}) => n.sshd.pid),
      lab.up.nodes.map((n: {sshd: {pid: number}}) => n.sshd.pid),
    )
    assert.deepEqual(await Promise.all(lab.nodes.map((n) => lab.memberPid(n.name))), before)
  })

  it('refuses a lab up that changes the shape of the lab', async () => {
    const r = await lab.cli(['lab', 'up', '--dir', lab.dir, '--nodes', '5', '--json'])
    assert.equal(r.exitCode, 2)
    assert.match(r.json.error.message, /created with --nodes 3/)
  })

  it('lab up restarts a killed member', async () => {
    const old = await lab.memberPid('n2')
    await lab.killMember('n2')
    assert.equal(await lab.memberPid('n2'), undefined)
    // If n2 led, the other two need an election before they report healthy again.
    const status = await eventually(
      async () => {
        const r = await lab.cli(['lab', 'status', '--dir', lab.dir, '--json'])
        return r.json?.data?.status === 'degraded' && r
      },
      30_000,
      'lab status degraded',
    )
    assert.equal(status.exitCode, 4, 'degraded: 2 of 3 healthy')
    const n2Status = status.json.data.nodes.find((n: {name: string}) => n.name === 'n2')
    assert.deepEqual([n2Status.member.alive, n2Status.health.ok, n2Status.sshd.alive], [false, false, true])

    const r = await lab.cli(['lab', 'up', '--dir', lab.dir, '--json'])
    assert.equal(r.exitCode, 0, r.stdout + r.stderr)
    assert.deepEqual(r.json.data.started, {sshd: 0, members: 1})
    const n2 = r.json.data.nodes.find((n: {name: string}) => n.name === 'n2')
    assert.equal(n2.member.started, true)
    assert.notEqual(n2.member.pid, old)
    assert.equal(await lab.memberPid('n2'), n2.member.pid)
    assert.ok(await healthy(lab.nodes[1].clientUrl))
  })

  it("the service script over SSH acts on that node's member only", async () => {
    const before = Object.fromEntries(
      await Promise.all(lab.nodes.map(async (n) => [n.name, await lab.memberPid(n.name)] as const)),
    )
    const stop = await lab.sshExec('n3', `${lab.serviceScript('n3')} chainfire stop`)
    assert.equal(stop.exitCode, 0, stop.stderr)
    assert.equal(await lab.memberPid('n3'), undefined)
    assert.equal(await isRunning(before.n3), false)
    assert.equal(await lab.memberPid('n1'), before.n1)
    assert.equal(await lab.memberPid('n2'), before.n2)

    const inactive = await lab.sshExec('n3', `${lab.serviceScript('n3')} chainfire is-active`)
    assert.deepEqual([inactive.exitCode, inactive.stdout.trim()], [3, 'inactive'])
    const active = await lab.sshExec('n1', `${lab.serviceScript('n1')} chainfire is-active`)
    assert.deepEqual([active.exitCode, active.stdout.trim()], [0, 'active'])

    await lab.startMember('n3')
    const pid = await lab.memberPid('n3')
    assert.ok(pid && pid !== before.n3)
    await eventually(() => healthy(lab.nodes[2].clientUrl), 30_000, 'n3 healthy again')
    assert.equal(await lab.memberPid('n1'), before.n1)

    const usage = await lab.sshExec('n1', `${lab.serviceScript('n1')} flaredb start`)
    assert.equal(usage.exitCode, 2)
  })

  it('reuses one SSH connection for many commands; a non-zero exit is a result', async () => {
    const client = await lab.ssh('n1')
    assert.equal(await lab.ssh('n1'), client)
    const results = await Promise.all([1, 2, 3, 4].map((i) => client.exec(`echo ${i}; exit ${i}`)))
    assert.deepEqual(
      results.map((r) => [r.stdout.trim(), r.exitCode]),
      [1, 2, 3, 4].map((i) => [String(i), i]),
    )
    // More commands at once than sshd's MaxSessions (10): they queue on the one connection.
    const many = await Promise.all(Array.from({length: 25}, (_, i) => client.exec(`echo ${i}`)))
    assert.deepEqual(
      many.map((r) => r.stdout.trim()),
      Array.from({length: 25}, (_, i) => String(i)),
    )
    const err = await client.exec('echo oops >&2; false')
    assert.deepEqual([err.exitCode, err.stderr.trim()], [1, 'oops'])
    const input = await client.exec('cat', {stdin: 'from stdin'})
    assert.equal(input.stdout, 'from stdin')
  })

  it('uploads a file over SFTP on the same connection', async () => {
    const tmp = await mkdtemp('/tmp/plasmactl-up-')
    try {
      const local = join(tmp, 'payload')
      await writeFile(local, 'payload\n')
      const remote = join(lab.dir, 'nodes', 'n1', 'uploaded')
      const client = await lab.ssh('n1')
      await client.upload(local, remote, {mode: 0o640})
      const r = await client.exec(
        `cat ${remote}; stat -c %a ${remote}; ls ${join(lab.dir, 'nodes', 'n1')} | grep -c tmp- || true`,
      )
      assert.deepEqual(r.stdout.trim().split('\n'), ['payload', '640', '0'])
    } finally {
      await rm(tmp, {recursive: true, force: true})
    }
  })

  it('times out a command and keeps the connection usable', async () => {
    const client = await lab.ssh('n2')
    await assert.rejects(
      client.exec('sleep 31; echo late', {timeoutMs: 300}),
      (e: unknown) => e instanceof OperationError && /timed out/.test(e.message),
    )
    const r = await client.exec('echo still here')
    assert.equal(r.stdout.trim(), 'still here')
    // The remote command was killed, not left running.
    await eventually(
      async () => !(await client.exec('ps -eo args')).stdout.includes('sleep 31'),
      10_000,
      'remote sleep killed',
    )
  })

  it('refuses a changed host key with both fingerprints, and unknown keys unless accept-new', async () => {
    const tmp = await mkdtemp('/tmp/plasmactl-kh-')
    try {
      const khText = await readFile(join(lab.dir, 'ssh', 'known_hosts'), 'utf8')
      const entries = parseKnownHosts(khText).entries
      const n1Key = entries[0].key
      const n2Key = entries[1].key
      // known_hosts claims n1 has n2's key: the real n1 key must be refused as changed.
      const forged = join(tmp, 'forged')
      await writeFile(forged, `[${lab.nodes[0].address}]:2222 ssh-ed25519 ${n2Key.toString('base64')}\n`)
      const target = lab.sshTarget('n1')
      await assert.rejects(SshClient.connect({...target, knownHostsFile: forged}), (e: unknown) => {
        assert.ok(e instanceof HostKeyRefusedError, String(e))
        assert.ok(e.message.includes(fingerprintSha256(n2Key)), e.message)
        assert.ok(e.message.includes(fingerprintSha256(n1Key)), e.message)
        assert.equal(e.details.host, lab.nodes[0].address)
        return true
      })
      // Unknown host: refused under strict, accepted and recorded under accept-new.
      const empty = join(tmp, 'empty')
      await writeFile(empty, '')
      await assert.rejects(SshClient.connect({...target, knownHostsFile: empty}), HostKeyRefusedError)
      const tofu = await SshClient.connect({...target, knownHostsFile: empty, hostKeyPolicy: 'accept-new'})
      await tofu.close()
      const learned = parseKnownHosts(await readFile(empty, 'utf8')).entries
      assert.equal(learned.length, 1)
      assert.ok(learned[0].key.equals(n1Key))
      // The hashed form of the real entry works too.
      const hashed = join(tmp, 'hashed')
      await copyFile(join(lab.dir, 'ssh', 'known_hosts'), hashed)
      const {run} = await import('../../src/adapters/exec/run.js')
      await run('ssh-keygen', ['-H', '-f', hashed])
      assert.match(await readFile(hashed, 'utf8'), /^\|1\|/)
      const viaHashed = await SshClient.connect({...target, knownHostsFile: hashed})
      assert.equal((await viaHashed.exec('true')).exitCode, 0)
      await viaHashed.close()
    } finally {
      await rm(tmp, {recursive: true, force: true})
    }
  })

  it('fails to connect with an OperationError naming the host', async () => {
    const target = {...lab.sshTarget('n1'), host: `${lab.addressPrefix}.250`, connectTimeoutMs: 3000}
    await assert.rejects(SshClient.connect(target), (e: unknown) => {
      assert.ok(e instanceof OperationError, String(e))
      assert.equal(e.details.host, target.host)
      return true
    })
  })

  it('lab down stops everything; --purge removes the lab and its context', async () => {
    const members = await Promise.all(lab.nodes.map((n) => lab.memberPid(n.name)))
    const status = await lab.cli(['lab', 'status', '--dir', lab.dir, '--json'])
    const sshds = status.json.data.nodes.map((n: {sshd: {pid: number}}) => n.sshd.pid)
    const down = await lab.cli(['lab', 'down', '--dir', lab.dir, '--json'])
    assert.equal(down.exitCode, 0, down.stdout + down.stderr)
    assert.ok(
      down.json.data.nodes.every(
        (n: {member: string; sshd: string}) => n.member === 'stopped' && n.sshd !== 'not-running',
      ),
    )
    for (const pid of [...members, ...sshds]) assert.equal(await isRunning(pid), false, `pid ${pid} still alive`)
    // The context stays until --purge.
    assert.ok((await readFile(lab.configPath, 'utf8')).includes(lab.dir))
    const st = await lab.cli(['lab', 'status', '--dir', lab.dir, '--json'])
    assert.equal(st.exitCode, 5)

    const purge = await lab.cli(['lab', 'down', '--dir', lab.dir, '--purge', '--json'])
    assert.equal(purge.exitCode, 0, purge.stdout + purge.stderr)
    assert.deepEqual(purge.json.data.removedContexts, ['lab'])
    const cfg = parseYaml(await readFile(lab.configPath, 'utf8'))
    assert.deepEqual(cfg.contexts, [])
    assert.equal(cfg['current-context'], undefined)
    await assert.rejects(readFile(join(lab.dir, 'lab.json')), /ENOENT/)
  })
})

describe('lab up --tls (5 nodes)', () => {
  let lab: Lab

  before(async () => {
    lab = await startLab({nodes: 5, tls: true})
  })

  after(async () => {
    await lab?.stop()
  })

  it('serves the health endpoint only to clients with the lab client certificate', async () => {
    assert.equal(lab.nodes.length, 5)
    const cfg = parseYaml(await readFile(lab.configPath, 'utf8'))
    const tls = cfg.contexts[0].chainfire.tls
    const [ca, cert, key] = await Promise.all([readFile(tls.ca), readFile(tls.cert), readFile(tls.key)])
    for (const n of lab.nodes) {
      assert.match(n.clientUrl, /^https:\/\//)
      assert.ok(await healthy(n.clientUrl, {ca, cert, key}), `${n.name} healthy with the client cert`)
      const without = await get(`${n.clientUrl}/health`, {ca})
      assert.notEqual(without.status, 200, `${n.name} must refuse a client without a certificate`)
      const plain = await get(`${n.clientUrl.replace('https:', 'http:')}/health`)
      assert.notEqual(plain.status, 200)
    }
    const status = await lab.cli(['lab', 'status', '--json'])
    assert.equal(status.exitCode, 0, status.stdout + status.stderr)
    assert.equal(status.json.data.tls, true)
  })
})

describe('lab prerequisites', () => {
  it('names the Debian package of a missing binary', async () => {
    const tmp = await mkdtemp('/tmp/plasmactl-nobin-')
    try {
      const r = await runCli(['lab', 'up', '--dir', join(tmp, 'lab'), '--json'], {
        PATH: '/nonexistent',
        PLASMACTL_CONFIG: join(tmp, 'config.yaml'),
      })
      assert.equal(r.exitCode, 2, r.stdout + r.stderr)
      assert.equal(r.json.error.code, 'USAGE')
      assert.match(r.json.error.message, /etcd \(Debian package etcd-server\)/)
      assert.match(r.json.error.hint, /apt-get install -y etcd-server/)
    } finally {
      await rm(tmp, {recursive: true, force: true})
    }
  })
})
