import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {formatDuration, parseDuration, parseTimeout} from '../../src/config/duration.js'
import {EXIT, UsageError} from '../../src/errors.js'

describe('parseDuration', () => {
  const ok: [string | number, number][] = [
    ['500ms', 500],
    ['5s', 5000],
    ['1.5s', 1500],
    ['2m30s', 150_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['7d', 604_800_000],
    ['2w', 1_209_600_000],
    ['0s', 0],
    ['250', 250],
    [' 10s ', 10_000],
    [1234, 1234],
    [0, 0],
  ]
  for (const [input, ms] of ok) it(`${JSON.stringify(input)} is ${ms} ms`, () => assert.equal(parseDuration(input), ms))

  const bad: (string | number)[] = [
    '',
    'soon',
    '5x',
    's5',
    '5s garbage',
    '5 s',
    '-5s',
    '1h-',
    'ms',
    -1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
  ]
  for (const input of bad) {
    it(`rejects ${JSON.stringify(input)} as bad usage naming what was parsed`, () => {
      assert.throws(
        () => parseDuration(input, 'chainfire.dial-timeout'),
        (e: unknown) =>
          e instanceof UsageError && e.exitCode === EXIT.USAGE && e.message.includes('chainfire.dial-timeout'),
      )
    })
  }
})

describe('formatDuration', () => {
  const cases: [number, string][] = [
    [0, '0ms'],
    [999, '999ms'],
    [1000, '1.0s'],
    [1500, '1.5s'],
    [12_000, '12s'],
    [61_000, '1m1s'],
    [150_000, '2m30s'],
    [3_600_000, '1h0m'],
    [5_400_000, '1h30m'],
    [90_000_000, '1d1h'],
    // Rounding carries into the next unit instead of showing 60.
    [999.7, '1.0s'],
    [9_960, '10s'],
    [59_600, '1m0s'],
    [119_700, '2m0s'],
    [3_599_600, '1h0m'],
    [86_399_000, '1d0h'],
  ]
  for (const [ms, text] of cases) it(`${ms} ms is ${text}`, () => assert.equal(formatDuration(ms), text))

  it('round-trips through parseDuration for whole units', () => {
    for (const ms of [500, 61_000, 150_000, 5_400_000]) assert.equal(parseDuration(formatDuration(ms)), ms)
  })
})

describe('parseTimeout (flags)', () => {
  it('accepts more than 0 up to 24h', () => {
    assert.equal(parseTimeout('1ms', '--timeout'), 1)
    assert.equal(parseTimeout('24h', '--timeout'), 86_400_000)
    assert.equal(parseTimeout('0s', '--grace', {allowZero: true}), 0)
  })
  for (const bad of ['0', '0s', '24h1ms', '99999999999999999999h', '9'.repeat(400), '-1s', '1e3']) {
    it(`refuses "${bad.slice(0, 24)}" as bad usage (exit 2)`, () => {
      assert.throws(
        () => parseTimeout(bad, '--timeout'),
        (e: unknown) => e instanceof UsageError && e.exitCode === EXIT.USAGE && e.message.includes('--timeout'),
      )
    })
  }
  it('never yields a non-finite duration', () => {
    assert.throws(() => parseDuration('9'.repeat(400)), UsageError)
    assert.throws(() => parseDuration(`${'9'.repeat(400)}h`), /too large/)
  })
})
