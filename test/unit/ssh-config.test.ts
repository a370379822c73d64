import assert from 'node:assert/strict'
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {homedir, tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {
  expandProxyCommand,
  lookupSshHost,
  parseJumpHosts,
  parseSshConfig,
  readSshConfig,
} from '../../src/adapters/ssh/ssh-config.js'
import {loadConfig} from '../../src/config/load.js'
import {UsageError} from '../../src/errors.js'
import {sshOptionsFor} from '../../src/services/remote.js'

describe('OpenSSH client config lookup', () => {
  const config = parseSshConfig(`
Host db-*
  HOSTNAME %h.internal
  port 2200
  IdentityFile ~/.ssh/db_%r
  IdentityFile /keys/second
  ProxyJump ops@bastion:2222
Host db-1
  Port 9999
  User db-admin
Host *
  User fallback
  UserKnownHostsFile ~/.ssh/kh1 /etc/ssh/kh2
`)

  it('first match wins per keyword, keywords in any case, tokens and ~ expanded', () => {
    const h = lookupSshHost(config, 'db-1')
    assert.equal(h.hostName, 'db-1.internal')
    assert.equal(h.port, 2200, 'Port 9999 comes after the first match')
    assert.equal(h.user, 'db-admin', 'the first User among the matching blocks, not the wildcard one')
    assert.deepEqual(h.identityFiles, [join(homedir(), '.ssh', 'db_db-admin'), '/keys/second'])
    assert.equal(h.proxyJump, 'ops@bastion:2222')
    assert.deepEqual(h.userKnownHostsFiles, [join(homedir(), '.ssh', 'kh1'), '/etc/ssh/kh2'])
  })

  it('an unmatched host gets only the wildcard settings; no config at all is empty', () => {
    const h = lookupSshHost(config, '10.0.0.1')
    assert.deepEqual([h.hostName, h.port, h.proxyJump, h.user], [undefined, undefined, undefined, 'fallback'])
    assert.deepEqual(lookupSshHost(undefined, 'x'), {
      hostName: undefined,
      port: undefined,
      user: undefined,
      identityFiles: [],
      proxyJump: undefined,
      proxyCommand: undefined,
      userKnownHostsFiles: [],
      identitiesOnly: false,
      hostKeyAlias: undefined,
    })
  })

  it('ProxyJump none means no jump host', () => {
    assert.equal(lookupSshHost(parseSshConfig('Host a\n  ProxyJump none\n'), 'a').proxyJump, undefined)
  })

  it('ProxyJump and ProxyCommand: whichever comes first wins, as in ssh; ProxyCommand none means none', () => {
    const both = parseSshConfig(
      'Host a\n  ProxyCommand ssh -W %h:%p gw\nHost a b\n  ProxyJump j1\nHost b\n  ProxyCommand nc %h %p\n',
    )
    assert.deepEqual(
      [lookupSshHost(both, 'a').proxyCommand, lookupSshHost(both, 'a').proxyJump],
      ['ssh -W %h:%p gw', undefined],
    )
    assert.deepEqual([lookupSshHost(both, 'b').proxyCommand, lookupSshHost(both, 'b').proxyJump], [undefined, 'j1'])
    assert.equal(lookupSshHost(parseSshConfig('Host a\n  ProxyCommand none\n'), 'a').proxyCommand, undefined)
  })

  it('ProxyCommand tokens expand to the final host, port, user and the name as given', () => {
    assert.equal(
      expandProxyCommand('ssh -W %h:%p -l %r gw # %n 100%%', {h: '10.0.0.7', p: 2201, r: 'ops', n: 'db-7'}),
      'ssh -W 10.0.0.7:2201 -l ops gw # db-7 100%',
    )
  })

  it('ProxyCommand token values are shell-quoted, in one pass (a %h in a value is not expanded again)', () => {
    const h = `10.0.0.1$(touch /tmp/m) %r`
    assert.equal(expandProxyCommand('nc %h %p', {h, p: 22, r: 'ops', n: 'x'}), `nc '10.0.0.1$(touch /tmp/m) %r' 22`)
    assert.equal(expandProxyCommand('nc %h', {h: "a'b", p: 22, r: 'ops', n: 'x'}), `nc 'a'\\''b'`)
  })

  it('IdentitiesOnly and HostKeyAlias are read', () => {
    const h = lookupSshHost(parseSshConfig('Host a\n  IdentitiesOnly YES\n  HostKeyAlias db-a\n'), 'a')
    assert.deepEqual([h.identitiesOnly, h.hostKeyAlias], [true, 'db-a'])
  })
})

describe('SSH config Include', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plasmactl-sshinc-'))
    await mkdir(join(dir, 'conf.d'))
    await writeFile(join(dir, 'conf.d', 'b.conf'), 'User dbadmin\n')
    await writeFile(join(dir, 'conf.d', 'a.conf'), 'Port 2200\nUser first-wins\n')
    await writeFile(join(dir, 'conf.d', '.hidden.conf'), 'Port 1\n')
    await writeFile(join(dir, 'conf.d', 'notes.txt'), 'Port 2\n')
    await writeFile(join(dir, 'extra'), 'Host bastion\n  HostName 10.0.0.9\n')
    await writeFile(
      join(dir, 'config'),
      `Host db-*\n  Include "${join(dir, 'conf.d')}/*.conf"\nInclude ${join(dir, 'extra')} ${join(dir, 'missing')}\n`,
    )
    await writeFile(join(dir, 'loop'), `Include ${join(dir, 'loop')}\n`)
  })
  after(() => rm(dir, {recursive: true, force: true}))

  it('splices included files in place: inside a Host block they apply to that block only, in lexical order', () => {
    const cfg = readSshConfig(join(dir, 'config'))
    const db = lookupSshHost(cfg, 'db-1')
    assert.deepEqual([db.port, db.user], [2200, 'first-wins'])
    assert.equal(lookupSshHost(cfg, 'web-1').port, undefined)
    // As ssh -G: the second Include follows `Host db-*` (indentation means nothing), so it is inside that block.
    assert.equal(lookupSshHost(cfg, 'bastion').hostName, undefined)
    assert.equal(lookupSshHost(cfg, 'db-2').hostName, undefined)
  })

  it('refuses an Include loop with a clear error', () => {
    assert.throws(
      () => readSshConfig(join(dir, 'loop')),
      (e: unknown) => e instanceof UsageError && /nested more than 16 deep/.test(e.message),
    )
  })
})

describe('jump host specs', () => {
  it('parses the forms ssh -J accepts, in chain order', () => {
    assert.deepEqual(parseJumpHosts('bastion'), [{user: undefined, host: 'bastion', port: undefined}])
    assert.deepEqual(parseJumpHosts('ops@10.0.0.9:2222, ssh://root@jump2/ ,[fd00::1]:22'), [
      {user: 'ops', host: '10.0.0.9', port: 2222},
      {user: 'root', host: 'jump2', port: undefined},
      {user: undefined, host: 'fd00::1', port: 22},
    ])
    assert.deepEqual(parseJumpHosts(''), [])
  })

  it('refuses what it cannot parse, naming the setting', () => {
    for (const bad of ['ops@', 'host:99999', 'a b', 'user@host:port']) {
      assert.throws(
        () => parseJumpHosts(bad, 'ssh.jump-host'),
        (e: unknown) => e instanceof UsageError && e.message.startsWith('ssh.jump-host: cannot parse jump host'),
        bad,
      )
    }
  })
})

describe('SSH options of a context node', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plasmactl-sshcfg-'))
    await writeFile(join(dir, 'key_a'), 'not read here')
    await writeFile(
      join(dir, 'ssh_config'),
      `Host edge-*
  HostName 192.0.2.%h
  Port 2201
  User from-ssh-config
  IdentityFile ${join(dir, 'missing_key')}
  IdentityFile ${join(dir, 'key_a')}
  ProxyJump jump1,ops@jump2:2022
Host jump1
  HostName 198.51.100.1
  User jumper
Host proxied-*
  HostName 203.0.113.9
  Port 2209
  IdentityFile ${join(dir, 'key_a')}
  IdentitiesOnly yes
  HostKeyAlias %h-key
  ProxyCommand ssh -W %h:%p -l %r gateway-for-%n
Host deep-*
  ProxyJump inner,jump1
Host inner
  HostName 10.9.9.9
  ProxyJump outer
Host outer
  HostName 10.8.8.8
  ProxyCommand nc %h %p
Host loop-a
  ProxyJump loop-b
Host loop-b
  ProxyJump loop-a
`,
    )
  })
  after(() => rm(dir, {recursive: true, force: true}))

  const load = async (ssh: string, node: string) => {
    const path = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`)
    await writeFile(
      path,
      `apiVersion: plasmactl/v1
current-context: c
contexts:
  - name: c
    environment: staging
    ssh: {config-file: ssh_config, known-hosts: kh, user: ops, ${ssh}}
    chainfire: {endpoints: [http://127.0.0.1:2379]}
    nodes:
      - {name: e1, address: ${node}, roles: [chainfire]}
`,
    )
    const loaded = await loadConfig(path)
    return sshOptionsFor(loaded, loaded.config.contexts[0], loaded.config.contexts[0].nodes[0])
  }

  it('resolves an alias through the SSH config; settings in the context win over it', async () => {
    const o = await load('port: 22', 'edge-7')
    assert.equal(o.host, '192.0.2.edge-7')
    assert.equal(o.port, 22)
    assert.equal(o.username, 'ops')
    assert.equal(o.identityFile, join(dir, 'key_a'), 'first IdentityFile that exists')
    assert.equal(o.knownHostsFile, join(dir, 'kh'))
    // The chain jump1 → jump2 → node: the node's jump is jump2, reached through jump1.
    assert.equal(o.jump?.host, 'jump2')
    assert.equal(o.jump?.port, 2022)
    assert.equal(o.jump?.username, 'ops')
    assert.equal(o.jump?.jump?.host, '198.51.100.1')
    assert.equal(o.jump?.jump?.username, 'jumper')
    assert.equal(o.jump?.jump?.jump, undefined)
  })

  it('an explicit jump-host replaces the ProxyJump; jump-host none drops it', async () => {
    const o = await load("'jump-host': 'admin@10.1.1.1:2200'", 'edge-7')
    assert.deepEqual(
      [o.jump?.username, o.jump?.host, o.jump?.port, o.jump?.jump],
      ['admin', '10.1.1.1', 2200, undefined],
    )
    assert.equal((await load("'jump-host': none", 'edge-7')).jump, undefined)
  })

  it('a ProxyCommand is expanded with the final host, port and user; jump-host wins over it, none drops it', async () => {
    const agent = process.env.SSH_AUTH_SOCK
    process.env.SSH_AUTH_SOCK = '/run/agent.sock'
    try {
      const o = await load('port: 2222', 'proxied-1')
      assert.equal(o.proxyCommand, 'ssh -W 203.0.113.9:2222 -l ops gateway-for-proxied-1')
      assert.equal(o.jump, undefined)
      assert.equal(o.hostKeyAlias, '%h-key', 'HostKeyAlias is taken literally')
      assert.equal(o.agent, undefined, 'IdentitiesOnly with an identity file: the agent keys are not offered')
      assert.equal((await load('port: 22', 'edge-7')).agent, '/run/agent.sock')
      const j = await load("'jump-host': 'admin@10.1.1.1'", 'proxied-1')
      assert.deepEqual([j.proxyCommand, j.jump?.host], [undefined, '10.1.1.1'])
      assert.equal((await load("'jump-host': none", 'proxied-1')).proxyCommand, undefined)
    } finally {
      if (agent === undefined) delete process.env.SSH_AUTH_SOCK
      else process.env.SSH_AUTH_SOCK = agent
    }
  })

  it('the first jump host follows its own ProxyJump / ProxyCommand (a bastion behind a bastion); later hops do not', async () => {
    const o = await load('port: 22', 'deep-1')
    // deep-1 ← jump1 ← inner ← outer (reached by its ProxyCommand)
    assert.equal(o.jump?.host, '198.51.100.1')
    assert.equal(o.jump?.jump?.host, '10.9.9.9')
    assert.equal(o.jump?.jump?.jump?.host, '10.8.8.8')
    assert.equal(o.jump?.jump?.jump?.proxyCommand, 'nc 10.8.8.8 22')
    assert.equal(o.jump?.jump?.jump?.jump, undefined)
    await assert.rejects(
      load('port: 22', 'loop-a'),
      (e: unknown) => e instanceof UsageError && /ProxyJump loop/.test(e.message),
    )
  })

  it('an address with no Host entry is used as it is', async () => {
    const o = await load("'identity-file': key_a", '10.0.0.5')
    assert.deepEqual([o.host, o.port, o.username, o.jump], ['10.0.0.5', 22, 'ops', undefined])
  })

  it('a bad jump-host is bad input', async () => {
    await assert.rejects(load("'jump-host': 'a@b:0'", 'edge-7'), UsageError)
  })
})
