import assert from 'node:assert/strict'
import {constants, PerformanceObserver} from 'node:perf_hooks'
import {describe, it} from 'node:test'
import {Scavenger} from '../../src/core/scavenge.js'

/** Minor GCs seen while FN runs (Node reports each collection as a 'gc' performance entry). */
async function minorGcsDuring(fn: () => void): Promise<number> {
  let seen = 0
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      if ((e as unknown as {detail?: {kind?: number}}).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) seen++
  })
  obs.observe({entryTypes: ['gc']})
  fn()
  // Entries are delivered asynchronously.
  await new Promise((r) => setTimeout(r, 50))
  obs.disconnect()
  return seen
}

describe('Scavenger: a minor GC every N bytes of a stream', () => {
  it('scavenges once per everyBytes passed', async () => {
    const s = new Scavenger(1000)
    const n = await minorGcsDuring(() => {
      for (let i = 0; i < 40; i++) s.passed(250) // 10 000 bytes: 10 scavenges
    })
    assert.ok(n >= 10, `10 scavenges asked, ${n} seen`)
  })

  it('leaves the gc function out of the program: --expose-gc is unset again', () => {
    new Scavenger(1)
    assert.equal(typeof (globalThis as {gc?: unknown}).gc, 'undefined')
  })
})
