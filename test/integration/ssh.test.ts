/**
 * SSH access the way operators have it set up: jump hosts (ProxyJump), ~/.ssh/config host aliases,
 * ssh-agent and passphrase-protected keys, against the real sshd of every lab node.
 */
import assert from 'node:assert/strict'
import {appendFile, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parse as parseYaml, stringify} from 'yaml'
import {run} from '../../src/adapters/exec/run.js'
import {
  HostKeyRefusedError,
  SftpFiles,
  SshClient,
  SshConnectionError,
  SshConnections,
  type SshConnectOptions,
} from '../../src/adapters/ssh/index.js'
import {expandProxyCommand} from '../../src/adapters/ssh/ssh-config.js'
import {UsageError} from '../../src/errors.js'
import {runCli, startLab, type Lab} from '../helpers/lab.js'

/** The local process that owns the TCP connection whose local port is PORT (as `ss -p` names it). */
async function ownerOfLocalPort(port: number): Promise<string> {
  const r = await run('ss', ['-Htnp', 'state', 'established', `( sport = :${port} )`])
  return r.stdout
}

/** The client port the sshd of the node saw ($SSH_CONNECTION = client-ip client-port server-ip server-port). */
function clientPort(sshConnection: string): number {
  const port = Number(sshConnection.trim().split(/\s+/)[1])
  assert.ok(Number.isInteger(port) && port > 0, `SSH_CONNECTION: ${sshConnection}`)
  return port
}

type LabContext = {ssh: Record<string, unknown>; nodes: {name: string; address: string; ssh?: unknown}[]}

/** An ssh_config Host block that points ALIAS at a lab node's sshd, with more settings after it. */
function hostBlock(alias: string, n: {address: string; sshPort: number}, ...settings: string[]): string {
  return [`Host ${alias}`, `  HostName ${n.address}`, `  Port ${n.sshPort}`, ...settings.map((x) => `  ${x}`), ''].join(
    '\n',
  )
}

describe('SSH: jump hosts, ssh config aliases, agent, encrypted keys (real sshd)', () => {
  let lab: Lab
  let tmp: string
  let agent: {sock: string; pid: number} | undefined

  before(async () => {
    lab = await startLab({nodes: 3})
    tmp = await mkdtemp('/tmp/plasmactl-ssh-')
  })

  after(async () => {
    if (agent) process.kill(agent.pid, 'SIGTERM')
    await lab?.stop()
    await rm(tmp, {recursive: true, force: true})
  })

  const through = (target: string, bastion: string): SshConnectOptions => ({
    ...lab.sshTarget(target),
    jump: lab.sshTarget(bastion),
  })

  /** A copy of the lab config with the lab context edited; returns the environment that selects it. */
  const configCopy = async (file: string, edit: (ctx: LabContext) => void) => {
    const cfg = parseYaml(await readFile(lab.configPath, 'utf8'))
    edit(cfg.contexts.find((c: {name: string}) => c.name === 'lab'))
    const configPath = join(tmp, file)
    await writeFile(configPath, stringify(cfg))
    return {PLASMACTL_CONFIG: configPath, PLASMACTL_CONTEXT: 'lab'}
  }

  /** NODE is reached as ALIAS with what SSHCONFIG says about it; the context's own DROP settings give way. */
  const throughSshConfig = (node: string, alias: string, sshConfig: string, drop: string[]) => (ctx: LabContext) => {
    const n = ctx.nodes.find((x) => x.name === node)
    assert.ok(n, node)
    n.address = alias
    for (const x of ctx.nodes) delete x.ssh
    for (const k of drop) delete ctx.ssh[k]
    ctx.ssh['config-file'] = sshConfig
  }

  it('reaches a node through a jump host: the connection to its sshd comes from the bastion, not from us', async () => {
    const client = await SshClient.connect(through('n2', 'n1'))
    try {
      const r = await client.exec('echo $SSH_CONNECTION')
      assert.equal(r.exitCode, 0, r.stderr)
      const seen = clientPort(r.stdout)
      // The TCP connection into n2's sshd was opened by n1's sshd (direct-tcpip), not by this process.
      const owner = await ownerOfLocalPort(seen)
      assert.match(owner, /sshd/, owner)
      assert.doesNotMatch(owner, /"node"/, owner)
      // A direct connection, for contrast, is this process's own socket.
      const direct = await SshClient.connect(lab.sshTarget('n2'))
      try {
        const own = await ownerOfLocalPort(clientPort((await direct.exec('echo $SSH_CONNECTION')).stdout))
        assert.match(own, /"node"/, own)
      } finally {
        await direct.close()
      }
    } finally {
      await client.close()
    }
  })

  it("checks the target's host key end to end through the jump host", async () => {
    const n1Key = bastionKnownHost(await readFile(join(lab.dir, 'ssh', 'known_hosts'), 'utf8'))
    // known_hosts with the bastion's real entry but a forged one for n2 (n1's key): the jump works, n2 is refused.
    const forged = join(tmp, 'forged_known_hosts')
    const n2 = lab.nodes[1]
    await writeFile(forged, `${n1Key.bastionLine}\n[${n2.address}]:${n2.sshPort} ${n1Key.keyType} ${n1Key.key}\n`)
    await assert.rejects(
      SshClient.connect({
        ...through('n2', 'n1'),
        knownHostsFile: forged,
        jump: {...lab.sshTarget('n1'), knownHostsFile: forged},
      }),
      (e: unknown) => {
        assert.ok(e instanceof HostKeyRefusedError, String(e))
        assert.match(e.message, /CHANGED/)
        assert.equal(e.details.host, n2.address)
        return true
      },
    )
  })

  it('tells a jump host that cannot reach the target apart from the jump host being down', async () => {
    const unreachable = {...through('n2', 'n1'), port: 1}
    await assert.rejects(SshClient.connect(unreachable), (e: unknown) => {
      assert.ok(e instanceof SshConnectionError, String(e))
      assert.match(e.message, /via jump host .*cannot open a connection to .*:1\b/)
      return true
    })
    const bastionDown = {...through('n2', 'n1'), jump: {...lab.sshTarget('n1'), port: 1}}
    await assert.rejects(SshClient.connect(bastionDown), (e: unknown) => {
      assert.ok(e instanceof SshConnectionError, String(e))
      assert.match(e.message, /connection refused .*\(jump host on the way to /)
      return true
    })
  })

  it('nodes behind the same bastion share one connection to it', async () => {
    const pool = new SshConnections()
    try {
      const [a, b] = await Promise.all([pool.get(through('n2', 'n1')), pool.get(through('n3', 'n1'))])
      const ports = await Promise.all(
        [a, b].map(async (c) => clientPort((await c.exec('echo $SSH_CONNECTION')).stdout)),
      )
      for (const p of ports) assert.match(await ownerOfLocalPort(p), /sshd/)
      // One connection to n1's sshd from this process, not two.
      const n1 = lab.nodes[0]
      const ours = await run('ss', ['-Htnp', 'state', 'established', `( dst ${n1.address}:${n1.sshPort} )`])
      const lines = ours.stdout.split('\n').filter((l) => l.includes(`pid=${process.pid},`))
      assert.equal(lines.length, 1, ours.stdout)
    } finally {
      await pool.closeAll()
    }
  })

  it('plasmactl exec follows a Host alias and its ProxyJump from the SSH config file', async () => {
    const [n1, n2] = lab.nodes
    const sshConfig = join(tmp, 'ssh_config')
    await writeFile(
      sshConfig,
      [
        '# operator ssh config',
        'Host bastion',
        `  HostName ${n1.address}`,
        `  Port ${n1.sshPort}`,
        'Host db-2',
        `  hostname ${n2.address}`,
        `  port ${n2.sshPort}`,
        '  ProxyJump bastion',
        'Host *',
        `  User ${lab.user}`,
        '',
      ].join('\n'),
    )
    // The alias supplies host, port, user and the jump host: the context no longer sets them.
    const env = await configCopy('config.yaml', throughSshConfig('n2', 'db-2', sshConfig, ['port', 'user']))
    const r = await runCli(['exec', 'n2', '--json', '--', 'echo $SSH_CONNECTION; whoami'], env)
    assert.equal(r.exitCode, 0, r.stdout + r.stderr)
    const [conn, who] = r.json.data.hosts[0].stdout.trim().split('\n')
    assert.equal(who, lab.user)
    assert.match(conn, new RegExp(` ${n2.address.replaceAll('.', '\\.')} ${n2.sshPort}$`))
    // The process that connected to n2 has exited; what we can check is the address it was told to use
    // came from the alias, and that a broken ProxyJump breaks it (so the jump was really in the path).
    await writeFile(sshConfig, (await readFile(sshConfig, 'utf8')).replace(`  Port ${n1.sshPort}`, '  Port 1'))
    const broken = await runCli(['exec', 'n2', '--json', '--', 'true'], env)
    assert.equal(broken.exitCode, 3, broken.stdout + broken.stderr)
    assert.match(broken.stdout, /jump host on the way to/)
  })

  it('a bastion behind a bastion: the jump host follows its own ProxyJump from the SSH config', async () => {
    const [n1, n2, n3] = lab.nodes
    const sshConfig = join(tmp, 'ssh_config_nested')
    const write = (edgePort: number) =>
      writeFile(
        sshConfig,
        [
          hostBlock('db-3', n3, 'ProxyJump mid'),
          hostBlock('mid', n2, 'ProxyJump edge'),
          hostBlock('edge', {...n1, sshPort: edgePort}),
        ].join(''),
      )
    await write(n1.sshPort)
    const env = await configCopy('nested.yaml', throughSshConfig('n3', 'db-3', sshConfig, ['port']))
    const ok = await runCli(['exec', 'n3', '--json', '--', 'echo $SSH_CONNECTION'], env)
    assert.equal(ok.exitCode, 0, ok.stdout + ok.stderr)
    assert.match(ok.json.data.hosts[0].stdout, new RegExp(` ${n3.address.replaceAll('.', '\\.')} ${n3.sshPort}\\n`))
    // The outer bastion is in the path only if mid's own ProxyJump was followed: with it unreachable
    // the command cannot run.
    await write(1)
    const broken = await runCli(['exec', 'n3', '--json', '--', 'true'], env)
    assert.equal(broken.exitCode, 3, broken.stdout + broken.stderr)
    assert.match(broken.json.data.hosts[0].error, /jump host on the way to/)
  })

  /** OpenSSH's own client as a ProxyCommand: `ssh -W %h:%p` through n1, checking n1's key strictly. */
  const sshW = () => {
    const n1 = lab.nodes[0]
    const dir = join(lab.dir, 'ssh')
    return `ssh -F /dev/null -i ${dir}/id_ed25519 -o UserKnownHostsFile=${dir}/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes -p ${n1.sshPort} -l ${lab.user} -W %h:%p ${n1.address}`
  }

  it('reaches a node through a ProxyCommand (ssh -W via a bastion): the connection to its sshd comes from the bastion', async () => {
    const n2 = lab.nodes[1]
    const proxyCommand = expandProxyCommand(sshW(), {h: n2.address, p: n2.sshPort, r: lab.user, n: 'n2'})
    const client = await SshClient.connect({...lab.sshTarget('n2'), proxyCommand})
    try {
      const r = await client.exec('echo $SSH_CONNECTION')
      assert.equal(r.exitCode, 0, r.stderr)
      assert.match(r.stdout, new RegExp(` ${n2.address.replaceAll('.', '\\.')} ${n2.sshPort}$`, 'm'))
      // The TCP connection into n2's sshd belongs to n1's sshd (it served the -W), not to this process.
      const owner = await ownerOfLocalPort(clientPort(r.stdout))
      assert.match(owner, /sshd/, owner)
      assert.doesNotMatch(owner, /"node"/, owner)
    } finally {
      await client.close()
    }
  })

  it('a failing ProxyCommand is a connection failure that quotes its exit status and stderr', async () => {
    const proxyCommand = `sh -c 'echo "bastion says no" >&2; exit 7'`
    await assert.rejects(SshClient.connect({...lab.sshTarget('n2'), proxyCommand}), (e: unknown) => {
      assert.ok(e instanceof SshConnectionError, String(e))
      assert.match(e.message, /ProxyCommand exited with status 7: bastion says no/)
      return true
    })
    await assert.rejects(
      SshClient.connect({...lab.sshTarget('n2'), proxyCommand: '/nonexistent/proxy %h'}),
      (e: unknown) => {
        assert.ok(e instanceof SshConnectionError, String(e))
        assert.match(e.message, /ProxyCommand exited with status 127: .*nonexistent/)
        return true
      },
    )
  })

  it('plasmactl exec follows a ProxyCommand and a HostKeyAlias from the SSH config file', async () => {
    const n2 = lab.nodes[1]
    const labKnownHosts = await readFile(join(lab.dir, 'ssh', 'known_hosts'), 'utf8')
    const n2Line = labKnownHosts.split('\n').find((l) => l.startsWith(`[${n2.address}]:${n2.sshPort} `))
    assert.ok(n2Line, labKnownHosts)
    // n2's key filed under the alias only (no address, no port), as HostKeyAlias wants it.
    const aliasKnownHosts = join(tmp, 'alias_known_hosts')
    await writeFile(aliasKnownHosts, `db-two ${n2Line.split(' ').slice(1).join(' ')}\n`)
    const sshConfig = join(tmp, 'ssh_config_proxy')
    const block = (proxy: string) =>
      hostBlock(
        'db-2',
        n2,
        `User ${lab.user}`,
        'HostKeyAlias db-two',
        `UserKnownHostsFile ${aliasKnownHosts}`,
        `ProxyCommand ${proxy}`,
      )
    await writeFile(sshConfig, block(sshW()))
    const env = await configCopy(
      'proxy.yaml',
      throughSshConfig('n2', 'db-2', sshConfig, ['port', 'user', 'known-hosts']),
    )
    const ok = await runCli(['exec', 'n2', '--json', '--', 'echo via-proxy'], env)
    assert.equal(ok.exitCode, 0, ok.stdout + ok.stderr)
    assert.equal(ok.json.data.hosts[0].stdout.trim(), 'via-proxy')
    // The proxy is really in the path: one that fails makes the command fail as a connection failure.
    await writeFile(sshConfig, block(`sh -c 'echo "no route to %h" >&2; exit 3'`))
    const broken = await runCli(['exec', 'n2', '--json', '--', 'true'], env)
    assert.equal(broken.exitCode, 3, broken.stdout + broken.stderr)
    assert.equal(broken.json.data.hosts[0].failure, 'connection')
    assert.match(
      broken.json.data.hosts[0].error,
      new RegExp(`ProxyCommand exited with status 3: no route to ${n2.address.replaceAll('.', '\\.')}`),
    )
    // And the alias is what the host key is checked under: n2's key filed under another name is unknown.
    await writeFile(sshConfig, block(sshW()))
    await writeFile(aliasKnownHosts, `db-other ${n2Line.split(' ').slice(1).join(' ')}\n`)
    const unknown = await runCli(['exec', 'n2', '--json', '--', 'true'], env)
    assert.equal(unknown.exitCode, 6, unknown.stdout + unknown.stderr)
    assert.match(unknown.json.data.hosts[0].error, /db-two/)
  })

  it('authenticates with keys from ssh-agent when no identity file is given', async () => {
    const sock = join(tmp, 'agent.sock')
    const started = await run('ssh-agent', ['-a', sock, '-s'])
    const pid = Number(/SSH_AGENT_PID=(\d+)/.exec(started.stdout)?.[1])
    assert.ok(pid > 0, started.stdout)
    agent = {sock, pid}
    const noIdentity = {...lab.sshTarget('n1'), identityFile: undefined}
    await assert.rejects(
      SshClient.connect(noIdentity),
      (e: unknown) => e instanceof UsageError && /ssh-agent/.test(e.message),
    )
    // An agent without the key: authentication fails (exit 3), it does not hang.
    await assert.rejects(SshClient.connect({...noIdentity, agent: sock}), /authentication failed/)
    const add = await run('ssh-add', [join(lab.dir, 'ssh', 'id_ed25519')], {env: {...process.env, SSH_AUTH_SOCK: sock}})
    assert.equal(add.exitCode, 0, add.stderr)
    const c = await SshClient.connect({...noIdentity, agent: sock})
    try {
      assert.equal((await c.exec('echo agent')).stdout.trim(), 'agent')
    } finally {
      await c.close()
    }
  })

  it('uses a passphrase-protected key with the passphrase from the environment or the prompt, and refuses plainly without', async () => {
    const key = join(tmp, 'id_locked')
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'open sesame', '-C', 'locked', '-f', key])
    await appendFile(join(lab.dir, 'ssh', 'authorized_keys'), await readFile(`${key}.pub`, 'utf8'))
    const target = {...lab.sshTarget('n1'), identityFile: key}
    await assert.rejects(SshClient.connect(target), (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e))
      assert.match(e.message, /encrypted and no passphrase was given: set PLASMACTL_SSH_PASSPHRASE/)
      return true
    })
    await assert.rejects(
      SshClient.connect({...target, passphrase: 'wrong'}),
      (e: unknown) => e instanceof UsageError && /wrong passphrase/.test(e.message),
    )
    const c = await SshClient.connect({...target, passphrase: 'open sesame'})
    assert.equal((await c.exec('echo unlocked')).stdout.trim(), 'unlocked')
    await c.close()
    // The prompt is asked once per key, however many hosts the run connects to.
    let asked = 0
    const askPassphrase = async (file: string) => {
      asked++
      assert.equal(file, key)
      return 'open sesame'
    }
    const clients = await Promise.all(
      ['n1', 'n2', 'n3'].map((n) => SshClient.connect({...lab.sshTarget(n), identityFile: key, askPassphrase})),
    )
    for (const cl of clients) await cl.close()
    assert.equal(asked, 1)
    // Through the CLI, non-interactively: PLASMACTL_SSH_PASSPHRASE.
    const env = {
      ...(await configCopy('locked.yaml', (ctx) => (ctx.ssh['identity-file'] = key))),
      SSH_AUTH_SOCK: undefined,
    }
    const refused = await runCli(['exec', 'n1', '--json', '--', 'true'], {...env, PLASMACTL_SSH_PASSPHRASE: undefined})
    assert.equal(refused.exitCode, 2, refused.stdout + refused.stderr)
    const ok = await runCli(['exec', 'n1', '--json', '--', 'echo ok'], {
      ...env,
      PLASMACTL_SSH_PASSPHRASE: 'open sesame',
    })
    assert.equal(ok.exitCode, 0, ok.stdout + ok.stderr)
  })

  it('SFTP reads return only once the remote handle is closed: closing the connection right after raises nothing', async () => {
    // An SFTP read stream closes its file handle after the last chunk, asynchronously; a
    // connection closed in that window used to fail the handle close with an unhandled 'error'.
    const file = join(lab.dir, 'nodes', 'n1', 'sftp-read.txt')
    const body = 'manifest '.repeat(5000)
    await writeFile(file, body)
    const late: unknown[] = []
    const onLate = (e: unknown) => late.push(e)
    process.on('uncaughtException', onLate)
    try {
      for (let i = 0; i < 25; i++) {
        const client = await SshClient.connect(lab.sshTarget('n1'))
        const files = new SftpFiles(client)
        const [text, digest] = await Promise.all([files.readText(file), files.digest(file)])
        await client.close()
        assert.equal(text, body)
        assert.equal(digest.size, Buffer.byteLength(body))
      }
      await new Promise((resolve) => setTimeout(resolve, 200)) // let any late event surface
    } finally {
      process.off('uncaughtException', onLate)
    }
    assert.deepEqual(late.map(String), [])
  })
})

/** The bastion's (n1's) known_hosts line and its key, to forge an entry for another node. */
function bastionKnownHost(text: string): {bastionLine: string; keyType: string; key: string} {
  const first = text.split('\n').find((l) => l.trim() && !l.startsWith('#'))
  assert.ok(first, 'lab known_hosts is empty')
  const [, keyType, key] = first.split(/\s+/)
  return {bastionLine: first, keyType, key}
}
