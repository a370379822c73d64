/**
 * The checks a drill runs on its recorded history: a stale read injected into a history recorded
 * the way the workload records it makes it non-linearizable and is counted as stale; the watch
 * check sees duplicates, disorder and missing revisions; the pid of a member comes from its address.
 */
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {
  checkHistory,
  checkWatch,
  countStaleReads,
  latencyWindow,
  longestAckGap,
  registerHistory,
} from '../../src/services/drill/analyze.js'
import {deadManCommand, pidFromSs} from '../../src/services/drill/faults.js'
import type {DrillOp} from '../../src/services/drill/workload.js'

const base = {endpoint: 'n1'}
function history(readValue: string, readRevision: number): DrillOp[] {
  return [
    {...base, client: 0, kind: 'seq', key: 'c0/s1', value: '1', outcome: 'ok', revision: 9, call: 0, complete: 4},
    {...base, client: 0, kind: 'write', key: 'r1', value: 'a', outcome: 'ok', revision: 10, call: 5, complete: 10},
    {...base, client: 1, kind: 'write', key: 'r1', value: 'b', outcome: 'ok', revision: 11, call: 12, complete: 20},
    {...base, client: 2, kind: 'read', key: 'r1', outcome: 'ok', read: readValue, readRevision, call: 30, complete: 35},
    {
      ...base,
      client: 1,
      kind: 'cas',
      key: 'r1',
      from: 'b',
      to: 'c',
      outcome: 'ok',
      applied: true,
      revision: 12,
      call: 40,
      complete: 45,
    },
    {...base, client: 0, kind: 'write', key: 'r2', value: 'x', outcome: 'indeterminate', call: 41, complete: 2041},
    {...base, client: 2, kind: 'read', key: 'r2', outcome: 'fail', call: 50, complete: 51},
  ]
}

describe('drill history checks', () => {
  test('a consistent history is linearizable with no stale reads', () => {
    const ops = history('b', 11)
    const r = checkHistory(ops, {revisions: [9, 10, 11, 12], gaps: 0, disconnects: 0})
    assert.equal(r.linearizable, true)
    assert.equal(r.staleReads, 0)
    assert.equal(r.watch.ok, true)
  })

  test('an injected stale read gives linearizable: false and one stale read', () => {
    const ops = history('a', 10)
    const r = checkHistory(ops, {revisions: [9, 10, 11, 12], gaps: 0, disconnects: 0})
    assert.equal(r.linearizable, false)
    assert.deepEqual(r.failedKeys, ['r1'])
    assert.equal(countStaleReads(ops), 1)
  })

  test('failed operations constrain nothing; indeterminate ones may or may not have applied', () => {
    const h = registerHistory(history('b', 11))
    assert.equal(h.length, 5)
    assert.ok(h.some((o) => 'indeterminate' in o.output))
    assert.ok(!h.some((o) => o.key === 'c0/s1'))
  })

  test('the watch check finds duplicates, disorder, missing revisions and gaps', () => {
    const ops = history('b', 11)
    assert.equal(checkWatch(ops, {revisions: [9, 10, 10, 11, 12], gaps: 0, disconnects: 0}).duplicates, 1)
    assert.equal(checkWatch(ops, {revisions: [9, 11, 10, 12], gaps: 0, disconnects: 0}).outOfOrder, 1)
    const missing = checkWatch(ops, {revisions: [9, 10, 12], gaps: 0, disconnects: 1})
    assert.equal(missing.missing, 1)
    assert.equal(missing.ok, false)
    assert.equal(checkWatch(ops, {revisions: [9, 10, 11, 12], gaps: 1, disconnects: 0}).ok, false)
  })

  test('ack gaps and latency windows', () => {
    const ops = history('b', 11)
    // Acks at 4, 10, 20, 45: the longest gap from 15 on is 20 → 45.
    assert.equal(longestAckGap(ops, 15, 100), 25)
    // No ack at all in the window: the whole window since the last ack.
    assert.equal(longestAckGap(ops, 46, 100), 55)
    const w = latencyWindow(ops, 0, 40)
    assert.equal(w.ops, 4)
    assert.equal(w.p50Ms, 5)
  })
})

describe('fault helpers', () => {
  test('the member pid is the one listening on its own address', () => {
    const ss = [
      'LISTEN 0 4096 127.9.9.1:2379 0.0.0.0:* users:(("etcd",pid=111,fd=7))',
      'LISTEN 0 4096 127.9.9.2:2379 0.0.0.0:* users:(("etcd",pid=222,fd=7))',
    ].join('\n')
    assert.equal(pidFromSs(ss, '127.9.9.2', '2379'), 222)
    assert.equal(pidFromSs(ss, '127.9.9.3', '2379'), undefined)
    assert.equal(pidFromSs('', '127.9.9.3', '2379'), undefined)
  })

  test('the dead-man timer is detached and cancelled by its marker', () => {
    const cmd = deadManCommand('kill -CONT 42', 7.2, '/tmp/m x')
    assert.match(cmd, /^setsid nohup sh -c /)
    assert.match(cmd, /sleep 8;/)
    assert.match(cmd, /'\\''\/tmp\/m x'\\''/)
    assert.match(cmd, /&$/)
  })
})
