import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {mapLimit} from '../../src/core/concurrency.js'
import {
  isHandshakeDropped,
  isSshTimeout,
  SshCommandTimeoutError,
  SshConnectionError,
  SshHandshakeTimeoutError,
} from '../../src/adapters/ssh/index.js'
import {OperationError} from '../../src/errors.js'
import {planHosts, validateHostCount} from '../../src/services/lab/hosts.js'

describe('fan-out at fleet scale', () => {
  test('mapLimit keeps at most LIMIT at once, results in input order, a stuck item holds one slot only', async () => {
    let running = 0
    let peak = 0
    let release!: () => void
    const stuck = new Promise<void>((r) => (release = r))
    const done: number[] = []
    const all = mapLimit(
      Array.from({length: 20}, (_, i) => i),
      4,
      async (i) => {
        running++
        peak = Math.max(peak, running)
        if (i === 0) await stuck
        else await new Promise((r) => setImmediate(r))
        running--
        done.push(i)
        return i * 2
      },
    )
    // Every other item finishes while item 0 still holds its slot.
    while (done.length < 19) await new Promise((r) => setImmediate(r))
    assert.ok(!done.includes(0))
    release()
    assert.deepEqual(
      await all,
      Array.from({length: 20}, (_, i) => i * 2),
    )
    assert.equal(peak, 4)
    assert.deepEqual(await mapLimit([], 4, async () => 1), [])
  })

  test('only a handshake the server dropped is retried; refused, timeouts and other failures are not', () => {
    assert.equal(isHandshakeDropped(new SshConnectionError('ssh h1: read ECONNRESET', {cause: 'ECONNRESET'})), true)
    assert.equal(isHandshakeDropped(new SshConnectionError('ssh h1: connection closed during the handshake')), true)
    assert.equal(
      isHandshakeDropped(new SshConnectionError('ssh h1: connection refused', {cause: 'ECONNREFUSED'})),
      false,
    )
    assert.equal(
      isHandshakeDropped(new SshHandshakeTimeoutError('ssh h1: no SSH handshake within 5000 ms', {cause: 'timeout'})),
      false,
    )
    assert.equal(isHandshakeDropped(new OperationError('ssh h1: authentication failed', {cause: 'ECONNRESET'})), false)
    assert.equal(isSshTimeout(new SshHandshakeTimeoutError('x')), true)
    assert.equal(isSshTimeout(new SshCommandTimeoutError('x')), true)
    assert.equal(isSshTimeout(new SshConnectionError('x')), false)
  })

  test('lab hosts: h1..hN from PREFIX.101, existing ones kept, 0..100', () => {
    const hosts = planHosts('127.0.10', 100)
    assert.deepEqual(hosts[0], {name: 'h1', address: '127.0.10.101', sshPort: 2222})
    assert.equal(hosts.at(-1)?.address, '127.0.10.200')
    const kept = planHosts('127.0.10', 3, [{name: 'h1', address: '127.0.10.101', sshPort: 2022}])
    assert.equal(kept[0].sshPort, 2022)
    assert.equal(kept.length, 3)
    assert.throws(() => validateHostCount(101), /--hosts must be 0\.\.100/)
    assert.throws(() => validateHostCount(-1), /--hosts/)
    validateHostCount(0)
    validateHostCount(undefined)
  })
})

describe('SSH handshakes in flight', () => {
  test('a pool sets up at most maxHandshakes connections at once; hung servers cost each its own timeout', async () => {
    const {createServer} = await import('node:net')
    const {default: ssh2} = await import('ssh2')
    const {SshConnections} = await import('../../src/adapters/ssh/index.js')
    // A server that accepts TCP and never says a word: a SIGSTOPped sshd, as the client sees it.
    let accepted = 0
    const server = createServer((sock) => {
      accepted++
      sock.on('error', () => undefined)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const port = (server.address() as {port: number}).port
    const key = ssh2.utils.generateKeyPairSync('ed25519').private
    const pool = new SshConnections(2)
    try {
      const all = Promise.allSettled(
        Array.from({length: 5}, () =>
          pool.get({
            host: '127.0.0.1',
            port,
            username: 'u',
            privateKey: key,
            knownHostsFile: '/nonexistent/known_hosts',
            connectTimeoutMs: 1500,
          }),
        ),
      )
      while (accepted < 2) await new Promise((r) => setTimeout(r, 10))
      // Without the bound, all five would be accepted by now.
      await new Promise((r) => setTimeout(r, 300))
      assert.equal(accepted, 2, 'two handshakes in flight, three waiting their turn')
      const results = await all
      assert.ok(
        results.every((r) => r.status === 'rejected' && isSshTimeout(r.reason)),
        'every hung handshake times out on its own clock',
      )
      assert.equal(accepted, 5)
    } finally {
      await pool.closeAll()
      server.close()
    }
  })
})
