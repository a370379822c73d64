import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {connectionIdentity} from '../../src/adapters/ssh/connections.js'
import type {SshConnectOptions} from '../../src/adapters/ssh/index.js'

describe('SSH connection pool identity', () => {
  const base: SshConnectOptions = {
    host: '10.0.0.1',
    port: 22,
    username: 'ops',
    identityFile: '/k/id',
    knownHostsFile: '/k/known_hosts',
  }

  it('is the same for the same resolved settings, and the default port counts as 22', () => {
    assert.equal(connectionIdentity(base), connectionIdentity({...base}))
    assert.equal(connectionIdentity({...base, port: undefined}), connectionIdentity(base))
    // Timeouts and prompts do not change which host is reached or how it is verified.
    assert.equal(connectionIdentity({...base, connectTimeoutMs: 1}), connectionIdentity(base))
  })

  it('differs whenever where the connection lands or how the host key is checked differs', () => {
    const variants: Partial<SshConnectOptions>[] = [
      {host: '10.0.0.2'},
      {port: 2222},
      {username: 'root'},
      {proxyCommand: 'ssh -W %h:%p bastion'},
      {jump: {...base, host: 'bastion'}},
      {identityFile: '/k/other'},
      {identityFile: undefined, privateKey: 'KEY'},
      {agent: '/run/agent.sock'},
      {knownHostsFile: '/k/other_known_hosts'},
      {hostKeyAlias: 'db-1'},
      {hostKeyPolicy: 'accept-new'},
    ]
    const ids = new Set([connectionIdentity(base), ...variants.map((v) => connectionIdentity({...base, ...v}))])
    assert.equal(ids.size, variants.length + 1)
    // Two jump chains differ by any hop.
    const via = (host: string): SshConnectOptions => ({...base, jump: {...base, host: 'b2', jump: {...base, host}}})
    assert.notEqual(connectionIdentity(via('b1')), connectionIdentity(via('b9')))
  })
})
