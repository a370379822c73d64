import assert from 'node:assert/strict'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
// A tiny in-process SSH server (tests only): it lets the host-key checks run end to end without sshd.
import ssh2 from 'ssh2'
import {
  checkHostKey,
  entryMatchesName,
  fingerprintSha256,
  formatKnownHostsLine,
  hashKnownHostName,
  HostKeyRefusedError,
  keyTypeOf,
  knownHostName,
  parseKnownHosts,
  SshClient,
} from '../../src/adapters/ssh/index.js'
import {OperationError} from '../../src/errors.js'

const {Server, utils} = ssh2

// Vectors made with OpenSSH 9.2: ssh-keygen -t ed25519, ssh-keygen -lf, ssh-keygen -H.
const K1 = 'AAAAC3NzaC1lZDI1NTE5AAAAIConXcM/LVjroylHEiMPTUpAFPqf41SytYvDPhXqKFRb'
const K1_FP = 'SHA256:ef9524WXx38Dz/AF7cq0JNknlQmvuPqYdfOlHfxb80A'
const K2 = 'AAAAC3NzaC1lZDI1NTE5AAAAIEYcsTClsGr0KJG6gnhr553Ax9lf2FRoKKhXl6NKiihx'
const K2_FP = 'SHA256:kZOrfuzVgp2/zX5A7+54wmtcy0R6b/Pl8WHfLdf+noU'
const HASHED_K1 = '|1|i9KkJRTcDwZpjo3SN8DCstm1lwo=|UHZRNgQnoizNU19OREPyxi+hQ4w=' // [10.1.2.3]:2222
const HASHED_K2 = '|1|n23mIgFlpXZ6sGdk14Z3Ix+IcAI=|Pbp6nf7W7vaTuOiI+4M4OksHU6g=' // db.example.com

const k1 = Buffer.from(K1, 'base64')
const k2 = Buffer.from(K2, 'base64')

describe('known_hosts parsing', () => {
  it('reads plain, [host]:port, multi-pattern and marker lines, and skips comments', () => {
    const text = [
      '# a comment',
      '',
      `[10.1.2.3]:2222 ssh-ed25519 ${K1} node one`,
      `web1,web1.example.com,192.0.2.7 ssh-ed25519 ${K2}`,
      `@revoked old.example.com ssh-ed25519 ${K1}`,
      `@cert-authority *.example.com ssh-ed25519 ${K2}`,
    ].join('\n')
    const {entries, problems} = parseKnownHosts(text, 'kh')
    assert.deepEqual(problems, [])
    assert.equal(entries.length, 4)
    assert.deepEqual(entries[0].patterns, ['[10.1.2.3]:2222'])
    assert.equal(entries[0].comment, 'node one')
    assert.equal(entries[0].line, 3)
    assert.equal(entries[0].keyType, 'ssh-ed25519')
    assert.ok(entries[0].key.equals(k1))
    assert.deepEqual(entries[1].patterns, ['web1', 'web1.example.com', '192.0.2.7'])
    assert.equal(entries[2].marker, '@revoked')
    assert.equal(entries[3].marker, '@cert-authority')
  })

  it('reports broken lines with their line numbers and keeps the rest', () => {
    const text = [
      `host-a ssh-ed25519 ${K1}`,
      'host-b ssh-ed25519',
      `host-c ssh-rsa ${K1}`,
      'host-d ssh-ed25519 !!!notbase64',
      `@bogus host-e ssh-ed25519 ${K1}`,
      `|2|abc|def ssh-ed25519 ${K1}`,
    ].join('\n')
    const {entries, problems} = parseKnownHosts(text, 'kh')
    assert.equal(entries.length, 1)
    assert.deepEqual(
      problems.map((p) => p.line),
      [2, 3, 4, 5, 6],
    )
    assert.match(problems[1].message, /does not match the key blob/)
  })

  it('matches hashed entries written by ssh-keygen -H', () => {
    const {entries} = parseKnownHosts(`${HASHED_K1} ssh-ed25519 ${K1}\n${HASHED_K2} ssh-ed25519 ${K2}\n`)
    assert.ok(entries[0].hashed)
    assert.equal(entries[0].patterns, undefined)
    assert.ok(entryMatchesName(entries[0], '[10.1.2.3]:2222'))
    assert.ok(!entryMatchesName(entries[0], '10.1.2.3'))
    assert.ok(!entryMatchesName(entries[0], '[10.1.2.3]:2223'))
    assert.ok(entryMatchesName(entries[1], 'db.example.com'))
    assert.equal(checkHostKey(entries, '10.1.2.3', 2222, k1).status, 'match')
    // ssh lower-cases the host name before hashing it.
    assert.equal(checkHostKey(entries, 'DB.Example.COM', 22, k2).status, 'match')
    assert.equal(checkHostKey(entries, '10.1.2.3', 22, k1).status, 'unknown')
  })

  it('hashes names the way OpenSSH does', () => {
    const salt = Buffer.from(HASHED_K1.split('|')[2], 'base64')
    assert.equal(hashKnownHostName('[10.1.2.3]:2222', salt), HASHED_K1)
    const fresh = hashKnownHostName('[h]:22')
    const {entries} = parseKnownHosts(`${fresh} ssh-ed25519 ${K1}`)
    assert.ok(entryMatchesName(entries[0], '[h]:22'))
  })

  it('uses the [host]:port form for non-standard ports only', () => {
    assert.equal(knownHostName('10.1.2.3', 22), '10.1.2.3')
    assert.equal(knownHostName('10.1.2.3', 2222), '[10.1.2.3]:2222')
    const {entries} = parseKnownHosts(`10.1.2.3 ssh-ed25519 ${K1}`)
    assert.equal(checkHostKey(entries, '10.1.2.3', 22, k1).status, 'match')
    // As ssh: with no `[host]:port` line, a bare-host line counts ("found matching key w/out port")…
    assert.equal(checkHostKey(entries, '10.1.2.3', 2222, k1).status, 'match')
    // …but a `[host]:port` line, when there is one, is what the key is checked against.
    const both = parseKnownHosts(`10.1.2.3 ssh-ed25519 ${K1}\n[10.1.2.3]:2222 ssh-ed25519 ${K2}`).entries
    assert.equal(checkHostKey(both, '10.1.2.3', 2222, k1).status, 'changed')
    assert.equal(formatKnownHostsLine('10.1.2.3', 2222, k1), `[10.1.2.3]:2222 ssh-ed25519 ${K1}`)
  })

  it('supports wildcards and negation', () => {
    const {entries} = parseKnownHosts(`*.example.com,!bad.example.com,n?.lab ssh-ed25519 ${K1}`)
    assert.ok(entryMatchesName(entries[0], 'db.example.com'))
    assert.ok(!entryMatchesName(entries[0], 'bad.example.com'))
    assert.ok(entryMatchesName(entries[0], 'n1.lab'))
    assert.ok(!entryMatchesName(entries[0], 'n10.lab'))
    assert.ok(!entryMatchesName(entries[0], 'example.org'))
  })

  it('computes fingerprints like ssh-keygen -lf', () => {
    assert.equal(fingerprintSha256(k1), K1_FP)
    assert.equal(fingerprintSha256(k2), K2_FP)
    assert.equal(keyTypeOf(k1), 'ssh-ed25519')
  })
})

describe('host key decision', () => {
  const text = [
    `[10.1.2.3]:2222 ssh-ed25519 ${K1}`,
    `@revoked [10.9.9.9]:2222 ssh-ed25519 ${K2}`,
    `@cert-authority [10.7.7.7]:2222 ssh-ed25519 ${K2}`,
  ].join('\n')
  const {entries} = parseKnownHosts(text, 'kh')

  it('accepts the known key', () => {
    const v = checkHostKey(entries, '10.1.2.3', 2222, k1)
    assert.equal(v.status, 'match')
  })

  it('reports a different key for a known host as changed, with the old entry', () => {
    const v = checkHostKey(entries, '10.1.2.3', 2222, k2)
    assert.equal(v.status, 'changed')
    assert.equal(v.status === 'changed' && v.expected[0].line, 1)
  })

  it('treats revoked keys as revoked and CA lines as no host key', () => {
    assert.equal(checkHostKey(entries, '10.9.9.9', 2222, k2).status, 'revoked')
    assert.equal(checkHostKey(entries, '10.7.7.7', 2222, k2).status, 'unknown')
  })
})

describe('SshClient host key verification (in-process server)', () => {
  let server: InstanceType<typeof Server>
  let port: number
  let dir: string
  let serverKeyBlob: Buffer
  let clientKey: string
  const otherKeyBlob = k2

  before(async () => {
    const hostKey = utils.generateKeyPairSync('ed25519')
    const parsed = utils.parseKey(hostKey.public)
    if (parsed instanceof Error) throw parsed
    serverKeyBlob = parsed.getPublicSSH()
    clientKey = utils.generateKeyPairSync('ed25519').private
    server = new Server({hostKeys: [hostKey.private]}, (client) => {
      client.on('authentication', (ctx) => (ctx.method === 'publickey' ? ctx.accept() : ctx.reject(['publickey'])))
      client.on('ready', () => {
        client.on('session', (accept) => {
          accept().on('exec', (acc, _rej, info) => {
            const ch = acc()
            ch.write(`ran: ${info.command}\n`)
            ch.exit(3)
            ch.end()
          })
        })
      })
      client.on('error', () => {})
    })
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res))
    port = (server.address() as AddressInfo).port
    dir = await mkdtemp(join(tmpdir(), 'plasmactl-kh-'))
  })

  after(async () => {
    await new Promise<void>((res) => server.close(() => res()))
    await rm(dir, {recursive: true, force: true})
  })

  const target = (knownHostsFile: string) => ({
    host: '127.0.0.1',
    port,
    username: 'op',
    privateKey: clientKey,
    knownHostsFile,
    connectTimeoutMs: 5000,
  })

  it('connects to a known host and returns a non-zero exit as a result', async () => {
    const kh = join(dir, 'known')
    await writeFile(kh, `${formatKnownHostsLine('127.0.0.1', port, serverKeyBlob, {hash: true})}\n`)
    const c = await SshClient.connect(target(kh))
    try {
      assert.equal(c.hostKey.fingerprint, fingerprintSha256(serverKeyBlob))
      const r = await c.exec('echo hi')
      assert.deepEqual([r.stdout, r.exitCode, r.signal], ['ran: echo hi\n', 3, null])
    } finally {
      await c.close()
    }
  })

  it('refuses a changed key, naming both SHA256 fingerprints', async () => {
    const kh = join(dir, 'changed')
    await writeFile(kh, `# header\n[127.0.0.1]:${port} ssh-ed25519 ${otherKeyBlob.toString('base64')}\n`)
    await assert.rejects(SshClient.connect(target(kh)), (e: unknown) => {
      assert.ok(e instanceof HostKeyRefusedError, String(e))
      assert.equal(e.exit, 'REFUSED')
      assert.ok(e.message.includes(fingerprintSha256(otherKeyBlob)), e.message)
      assert.ok(e.message.includes(fingerprintSha256(serverKeyBlob)), e.message)
      assert.match(e.message, /CHANGED/)
      assert.equal(e.details.host, '127.0.0.1')
      assert.equal(e.details.line, 2)
      return true
    })
  })

  it('refuses an unknown key unless accept-new, which records it', async () => {
    const kh = join(dir, 'tofu')
    await assert.rejects(SshClient.connect(target(kh)), HostKeyRefusedError)
    const c = await SshClient.connect({...target(kh), hostKeyPolicy: 'accept-new'})
    await c.close()
    const {entries} = parseKnownHosts(await readFile(kh, 'utf8'))
    assert.equal(entries.length, 1)
    assert.equal(checkHostKey(entries, '127.0.0.1', port, serverKeyBlob).status, 'match')
    // accept-new never accepts a changed key.
    await writeFile(kh, `[127.0.0.1]:${port} ssh-ed25519 ${otherKeyBlob.toString('base64')}\n`)
    await assert.rejects(SshClient.connect({...target(kh), hostKeyPolicy: 'accept-new'}), HostKeyRefusedError)
  })

  it('turns a refused TCP connection into an OperationError with the host', async () => {
    const kh = join(dir, 'known')
    await assert.rejects(SshClient.connect({...target(kh), port: 1}), (e: unknown) => {
      assert.ok(e instanceof OperationError)
      assert.equal(e.details.host, '127.0.0.1')
      assert.match(e.message, /connection refused/)
      return true
    })
  })
})
