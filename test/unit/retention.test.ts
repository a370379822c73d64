import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {CatalogEntry} from '../../src/services/snapshot/catalog.js'
import {planRetention, type Retention} from '../../src/services/snapshot/prune.js'

function entry(id: string, createdAt: string, state: CatalogEntry['state'] = 'complete'): CatalogEntry {
  return {
    id,
    target: 'file:///t',
    state,
    complete: state === 'complete',
    size: 4128,
    createdAt,
    revision: 1,
    manifest: null,
    checked: 'size',
  }
}

const none: Retention = {keepLast: 1, hourly: 0, daily: 0, weekly: 0, monthly: 0}
const kept = (d: ReturnType<typeof planRetention>) =>
  d
    .filter((x) => x.keep)
    .map((x) => x.id)
    .sort()

describe('snapshot retention (GFS)', () => {
  it('keep-last keeps the N newest complete snapshots', () => {
    const e = [
      entry('a', '2026-11-01T00:00:00Z'),
      entry('b', '2026-11-02T00:00:00Z'),
      entry('c', '2026-11-03T00:00:00Z'),
    ]
    assert.deepEqual(kept(planRetention(e, {...none, keepLast: 2})), ['b', 'c'])
  })

  it('daily keeps the newest snapshot of each of the last D days', () => {
    const e = [
      entry('d1-early', '2026-11-01T01:00:00Z'),
      entry('d1-late', '2026-11-01T23:00:00Z'),
      entry('d2-early', '2026-11-02T01:00:00Z'),
      entry('d2-late', '2026-11-02T23:00:00Z'),
      entry('d3', '2026-11-03T12:00:00Z'),
    ]
    assert.deepEqual(kept(planRetention(e, {...none, daily: 3})), ['d1-late', 'd2-late', 'd3'])
  })

  it('hourly, weekly and monthly buckets', () => {
    const e = [
      entry('h1', '2026-11-26T10:05:00Z'),
      entry('h1b', '2026-11-26T10:55:00Z'),
      entry('h2', '2026-11-26T11:30:00Z'),
      entry('w-prev', '2026-11-18T12:00:00Z'),
      entry('m-oct', '2026-10-15T12:00:00Z'),
      entry('m-sep', '2026-09-15T12:00:00Z'),
    ]
    assert.deepEqual(kept(planRetention(e, {...none, hourly: 2})), ['h1b', 'h2'])
    assert.deepEqual(kept(planRetention(e, {...none, weekly: 2})), ['h2', 'w-prev'])
    assert.deepEqual(kept(planRetention(e, {...none, monthly: 3})), ['h2', 'm-oct', 'm-sep'])
  })

  it('never deletes the newest complete snapshot, even when it is older than broken ones', () => {
    const e = [entry('good', '2026-11-01T00:00:00Z'), entry('newer-broken', '2026-11-05T00:00:00Z', 'no-manifest')]
    const d = planRetention(e, {...none, keepLast: 1}, true)
    assert.deepEqual(kept(d), ['good'])
    assert.match(d.find((x) => x.id === 'good')!.reasons.join(), /newest complete/)
  })

  it('keeps snapshots with unreadable manifests unless forced', () => {
    const e = [
      entry('new', '2026-11-05T00:00:00Z'),
      entry('bad', '2026-11-01T00:00:00Z', 'bad-manifest'),
      entry('old', '2026-10-01T00:00:00Z'),
    ]
    assert.deepEqual(kept(planRetention(e, none)), ['bad', 'new'])
    assert.deepEqual(kept(planRetention(e, none, true)), ['new'])
  })
})
