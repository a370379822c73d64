import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {failureTolerance, hasQuorum, impactOfStopping, majority} from '../../src/services/health/quorum.js'

describe('quorum math', () => {
  // Expected values written out by hand for 1–7 voters: [voters, majority, tolerance with none down]
  const table: [number, number, number][] = [
    [1, 1, 0],
    [2, 2, 0],
    [3, 2, 1],
    [4, 3, 1],
    [5, 3, 2],
    [6, 4, 2],
    [7, 4, 3],
  ]

  for (const [voters, maj, tol] of table) {
    it(`${voters} voters: majority ${maj}, tolerance ${tol}, and every k down`, () => {
      assert.equal(majority(voters), maj)
      assert.equal(failureTolerance(voters, 0), tol)
      for (let down = 0; down <= voters; down++) {
        const quorum = voters - down >= maj
        assert.equal(hasQuorum(voters, down), quorum, `quorum with ${down} down`)
        assert.equal(failureTolerance(voters, down), quorum ? tol - down : 0, `tolerance with ${down} down`)
      }
    })
  }

  it('3 voters: one down leaves tolerance 0, two down lose quorum', () => {
    assert.deepEqual([hasQuorum(3, 1), failureTolerance(3, 1)], [true, 0])
    assert.deepEqual([hasQuorum(3, 2), failureTolerance(3, 2)], [false, 0])
  })

  it('no voters never has quorum', () => {
    assert.equal(hasQuorum(0, 0), false)
    assert.equal(failureTolerance(0, 0), 0)
  })

  it('impact of stopping a healthy voter', () => {
    assert.deepEqual(impactOfStopping(3, 0, 1), {upAfter: 2, quorum: true, failureTolerance: 0})
    assert.deepEqual(impactOfStopping(3, 1, 1), {upAfter: 1, quorum: false, failureTolerance: 0})
    assert.deepEqual(impactOfStopping(5, 0, 1), {upAfter: 4, quorum: true, failureTolerance: 1})
  })
})
