import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {compareNatural, compareText} from '../../src/core/compare.js'

describe('compareText and compareNatural', () => {
  it('orders names, ids and ISO timestamps by code unit, whatever the locale', () => {
    const names = [
      'n2',
      'n10',
      'n1',
      'b',
      'a',
      'B',
      'node:add',
      'node-x',
      '2026-12-02T10:00:00.000Z',
      '2026-12-01T23:59:59.999Z',
    ]
    assert.deepEqual([...names].sort(compareText), [...names].sort())
    assert.equal(compareText('x', 'x'), 0)
  })

  it('orders runs of digits as numbers, as localeCompare with numeric: true does for ids', () => {
    const ids = ['store-10', 'store-2', 'store-1', 'region-3', 'region-20', 'store-02', 's', 'store-', '10', '9']
    const expected = [...ids].sort((a, b) =>
      // eslint-disable-next-line no-restricted-properties -- the reference the new order is held to
      a.localeCompare(b, 'en', {numeric: true}),
    )
    const sorted = [...ids].sort(compareNatural)
    // Equal numbers with other padding (store-2, store-02) tie in ICU and are ordered by text here.
    assert.deepEqual(
      sorted.map((s) => s.replace(/-0+(\d)/, '-$1')),
      expected.map((s) => s.replace(/-0+(\d)/, '-$1')),
    )
    assert.ok(compareNatural('store-2', 'store-10') < 0)
    assert.ok(compareNatural('store-10', 'store-2') > 0)
    assert.equal(compareNatural('a1b2', 'a1b2'), 0)
  })
})
