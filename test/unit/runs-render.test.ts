import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {RunTranscript} from '../../src/core/engine/runs.js'
import {renderRunTranscript} from '../../src/output/runs.js'

const transcript = (over: Partial<RunTranscript>): RunTranscript => ({
  id: 'run-1',
  kind: 'runbook',
  what: 'chainfire/restart-node',
  context: 'lab',
  operator: 'op@host',
  started: '2026-12-02T00:00:00.000Z',
  ended: null,
  state: 'failed',
  journal: '/state/runs/run-1.jsonl',
  entries: [],
  ...over,
})

describe('runs show: the next command of a run that did not succeed', () => {
  it('a failed runbook run is resumed', () => {
    const text = renderRunTranscript(transcript({}))
    assert.match(text, /resume with: plasmactl runs resume run-1/)
  })

  it('a failed drill is run again, never resumed, and its report is linked', () => {
    const text = renderRunTranscript({...transcript({kind: 'drill', what: 'leader-kill'}), reportDir: '/r/d1'})
    assert.doesNotMatch(text, /runs resume/)
    assert.match(text, /run it again with: plasmactl drill run leader-kill/)
    assert.match(text, /report: \/r\/d1/)
  })

  it('a run that succeeded names no next command', () => {
    const text = renderRunTranscript(transcript({state: 'succeeded'}))
    assert.doesNotMatch(text, /resume with|run it again/)
  })
})
