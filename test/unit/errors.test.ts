import assert from 'node:assert/strict'
import {afterEach, describe, it} from 'node:test'
import {
  errorLocation,
  EXIT,
  EXIT_DESCRIPTIONS,
  exitNameOf,
  type ExitName,
  OperationError,
  PlasmaError,
  RefusedError,
  setExitCode,
  UsageError,
} from '../../src/errors.js'
import {errorEnvelope} from '../../src/output/envelope.js'

describe('the exit-code table', () => {
  it('has unique codes', () => {
    const codes = Object.values(EXIT)
    assert.equal(new Set(codes).size, codes.length, `duplicate exit codes in ${JSON.stringify(EXIT)}`)
  })

  it('has exactly the documented values', () => {
    assert.deepEqual(
      Object.values(EXIT).sort((a, b) => a - b),
      [0, 1, 2, 3, 4, 5, 6, 7, 130, 143],
    )
    assert.deepEqual(EXIT, {
      OK: 0,
      INTERNAL: 1,
      USAGE: 2,
      OPERATION_FAILED: 3,
      HEALTH_WARN: 4,
      HEALTH_CRIT: 5,
      REFUSED: 6,
      HEALTH_UNKNOWN: 7,
      INTERRUPTED: 130,
      TERMINATED: 143,
    })
  })

  it('documents every name, and nothing else', () => {
    assert.deepEqual(Object.keys(EXIT_DESCRIPTIONS).sort(), Object.keys(EXIT).sort())
    for (const [name, text] of Object.entries(EXIT_DESCRIPTIONS))
      assert.ok(text.trim().length > 10, `${name} needs a description`)
  })

  it('keeps codes within what a shell can report', () => {
    for (const code of Object.values(EXIT)) assert.ok(Number.isInteger(code) && code >= 0 && code <= 255)
  })
})

describe('typed errors', () => {
  it('map to their exit codes', () => {
    assert.equal(new UsageError('x').exitCode, 2)
    assert.equal(new OperationError('x').exitCode, 3)
    assert.equal(new RefusedError('x').exitCode, 6)
    assert.equal(new PlasmaError('HEALTH_CRIT', 'x').exitCode, 5)
    assert.equal(new UsageError('x').name, 'UsageError')
  })

  it('exitNameOf classifies foreign errors', () => {
    const cases: [unknown, ExitName][] = [
      [new UsageError('x'), 'USAGE'],
      [Object.assign(new Error('aborted'), {name: 'AbortError'}), 'INTERRUPTED'],
      [Object.assign(new Error('ctrl-c'), {name: 'ExitPromptError'}), 'INTERRUPTED'],
      [Object.assign(new Error('Unexpected argument'), {oclif: {exit: 2}}), 'USAGE'],
      [Object.assign(new Error('x'), {name: 'NonExistentFlagsError'}), 'USAGE'],
      [new TypeError('undefined is not a function'), 'INTERNAL'],
      ['a string', 'INTERNAL'],
    ]
    for (const [err, name] of cases) assert.equal(exitNameOf(err), name, String(err))
  })

  it('errorLocation formats file:line:col, else endpoint or host', () => {
    assert.equal(errorLocation({file: 'c.yaml', line: 3, column: 7}), 'c.yaml:3:7')
    assert.equal(errorLocation({file: 'c.yaml', line: 3}), 'c.yaml:3')
    assert.equal(errorLocation({file: 'c.yaml'}), 'c.yaml')
    assert.equal(errorLocation({endpoint: 'http://10.0.0.1:2379', host: 'cp1'}), 'http://10.0.0.1:2379')
    assert.equal(errorLocation({host: 'cp1'}), 'cp1')
    assert.equal(errorLocation({}), undefined)
  })

  it('the JSON error envelope carries code, location, hint and details', () => {
    const env = errorEnvelope(
      new UsageError('bad', {file: 'c.yaml', line: 2, column: 5, hint: 'fix it', problems: [1]}),
    )
    assert.equal(env.ok, false)
    assert.equal(env.exitCode, 2)
    assert.deepEqual(env.error, {
      code: 'USAGE',
      name: 'UsageError',
      message: 'bad',
      location: 'c.yaml:2:5',
      hint: 'fix it',
      details: {file: 'c.yaml', line: 2, column: 5, problems: [1]},
    })
    assert.equal('data' in env, false, 'no partial result unless the error carries one')
    assert.deepEqual(env.warnings, [])
  })

  it('the JSON error envelope carries the partial result and the warnings reported before the error', () => {
    const err = new OperationError('step b failed')
    err.data = {
      steps: [
        {step: 'a', status: 'ok'},
        {step: 'b', status: 'failed'},
      ],
    }
    const env = errorEnvelope(err, ['a warning'])
    assert.deepEqual(env.data, err.data)
    assert.deepEqual(env.warnings, ['a warning'])
    assert.equal(env.ok, false)
    assert.equal(env.exitCode, 3)
  })
})

describe('setExitCode', () => {
  const saved = process.exitCode
  afterEach(() => {
    process.exitCode = saved
  })

  it('keeps the most severe code of a partial failure', () => {
    process.exitCode = undefined
    setExitCode('HEALTH_WARN')
    setExitCode('USAGE')
    assert.equal(process.exitCode, 4)
    setExitCode('HEALTH_CRIT')
    assert.equal(process.exitCode, 5)
    process.exitCode = undefined
  })
})
