/**
 * The register linearizability checker against real Jepsen etcd histories with known verdicts
 * (test/fixtures/linearizability: porcupine's test data, MIT, LICENSE.md beside it), plus small
 * histories built by hand, one of them with a stale read injected.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {describe, test} from 'node:test'
import {fileURLToPath} from 'node:url'
import {
  checkLinearizable,
  type HistoryOperation,
  parseJepsenRegisterLog,
} from '../../src/services/drill/linearizability.js'

const DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'linearizability', 'jepsen-etcd')
const verdicts = readFileSync(join(DIR, 'VERDICTS.tsv'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => l.split('\t') as [string, 'linearizable' | 'not-linearizable'])

describe('Jepsen etcd histories', () => {
  test(`all ${verdicts.length} verdicts match`, () => {
    assert.equal(verdicts.length, 102)
    const wrong: string[] = []
    for (const [file, verdict] of verdicts) {
      const r = checkLinearizable(parseJepsenRegisterLog(readFileSync(join(DIR, file), 'utf8')))
      if (r.linearizable !== (verdict === 'linearizable')) wrong.push(`${file}: expected ${verdict}`)
    }
    assert.deepEqual(wrong, [])
  })
})

const w = (client: number, call: number, complete: number, value: string, key?: string): HistoryOperation => ({
  key,
  client,
  input: {op: 'write', value},
  output: {ok: true},
  call,
  complete,
})
const r = (client: number, call: number, complete: number, value: string | null, key?: string): HistoryOperation => ({
  key,
  client,
  input: {op: 'read'},
  output: {ok: true, value},
  call,
  complete,
})

describe('hand-made histories', () => {
  test('sequential writes and reads are linearizable; a stale read injected after a newer write is not', () => {
    const good = [w(1, 0, 1, 'a'), w(1, 2, 3, 'b'), r(2, 4, 5, 'b')]
    assert.equal(checkLinearizable(good).linearizable, true)
    const stale = [...good.slice(0, 2), r(2, 4, 5, 'a')]
    assert.equal(checkLinearizable(stale).linearizable, false)
  })

  test('concurrent operations may take either order', () => {
    assert.equal(
      checkLinearizable([w(1, 0, 10, 'a'), r(2, 1, 2, 'a'), r(3, 3, 4, null)]).linearizable,
      false,
      'once a is seen, absent cannot be',
    )
    assert.equal(checkLinearizable([w(1, 0, 10, 'a'), r(2, 1, 2, null), r(3, 3, 4, 'a')]).linearizable, true)
  })

  test('an indeterminate write may have happened or not; cas outcomes are checked', () => {
    const lost: HistoryOperation = {
      client: 1,
      input: {op: 'write', value: 'x'},
      output: {indeterminate: true},
      call: 0,
      complete: 1,
    }
    assert.equal(checkLinearizable([lost, r(2, 5, 6, null)]).linearizable, true)
    assert.equal(checkLinearizable([lost, r(2, 5, 6, 'x')]).linearizable, true)
    const cas = (applied: boolean): HistoryOperation => ({
      client: 3,
      input: {op: 'cas', from: 'a', to: 'b'},
      output: {ok: true, applied},
      call: 2,
      complete: 3,
    })
    assert.equal(checkLinearizable([w(1, 0, 1, 'a'), cas(true), r(2, 4, 5, 'b')]).linearizable, true)
    assert.equal(
      checkLinearizable([w(1, 0, 1, 'a'), cas(false), r(2, 4, 5, 'a')]).linearizable,
      false,
      'a cas from the current value must apply',
    )
  })

  test('keys are checked separately and the failing key is named', () => {
    const res = checkLinearizable([
      w(1, 0, 1, 'a', 'k1'),
      r(2, 2, 3, 'a', 'k1'),
      w(1, 0, 1, 'a', 'k2'),
      w(1, 2, 3, 'b', 'k2'),
      r(2, 4, 5, 'a', 'k2'),
    ])
    assert.deepEqual([res.linearizable, res.failedKeys], [false, ['k2']])
  })
})
