import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {compressHosts, renderExec} from '../../src/output/runbook.js'
import type {HostResult} from '../../src/services/exec-on-nodes.js'

const host = (node: string, over: Partial<HostResult> = {}): HostResult => ({
  node,
  exitCode: 0,
  stdout: 'up 3 days\n',
  stderr: '',
  durationMs: 5,
  ...over,
})

describe('exec output at fleet scale', () => {
  test('host names compress as pdsh prints them', () => {
    assert.equal(compressHosts(['n1', 'n2', 'n3', 'n7', 'n9', 'n10']), 'n[1-3,7,9-10]')
    assert.equal(compressHosts(['web01', 'web02', 'db', 'web04']), 'db,web[01-02,04]')
    assert.equal(compressHosts(['h5']), 'h5')
  })

  test('identical outputs share one block, failures first with their reason, one summary line', () => {
    const hosts = Array.from({length: 50}, (_, i) => host(`h${i + 1}`))
    hosts[9] = host('h10', {exitCode: 1, stdout: '', stderr: 'disk full\n', failure: 'command'})
    hosts[29] = host('h30', {exitCode: null, stdout: '', error: 'ssh h30: connection refused', failure: 'connection'})
    const text = renderExec({target: 'all', command: 'uptime', hosts}, true)
    const lines = text.split('\n')
    assert.equal(lines[0], '── h10 (exit 1)')
    assert.equal(lines[1], 'disk full')
    assert.equal(lines[2], '── h30 (ssh h30: connection refused)')
    assert.equal(lines[3], '── h[1-9,11-29,31-50] (48 hosts, exit 0)')
    assert.equal(lines[4], 'up 3 days')
    assert.equal(lines.at(-1), '48 ok, 1 failed, 1 unreachable (of 50; not ok: h[10,30])')
    const plain = renderExec({target: 'all', command: 'uptime', hosts}, false).split('\n')
    assert.deepEqual(plain, [
      'h10: failed: exit 1',
      'h30: unreachable: ssh h30: connection refused',
      '48 ok, 1 failed, 1 unreachable (of 50; not ok: h[10,30])',
    ])
  })

  test('a hung host is counted as timed out, apart from the unreachable ones', () => {
    const hosts = Array.from({length: 50}, (_, i) => host(`h${i + 1}`))
    hosts[6] = host('h7', {exitCode: null, stdout: '', error: 'ssh h7: connection refused', failure: 'connection'})
    hosts[12] = host('h13', {
      exitCode: null,
      stdout: '',
      error: 'ssh h13: no SSH handshake within 5000 ms',
      failure: 'connection',
      timedOut: true,
    })
    const plain = renderExec({target: 'all', command: 'true', hosts}, false).split('\n')
    assert.deepEqual(plain, [
      'h7: unreachable: ssh h7: connection refused',
      'h13: timed out: ssh h13: no SSH handshake within 5000 ms',
      '48 ok, 1 unreachable, 1 timed out (of 50; not ok: h[7,13])',
    ])
  })
})
