/**
 * Which `health` invocations the fast path (src/fast/health.ts) takes without oclif, and with which
 * flags; everything else must be left to oclif. test/integration/health.test.ts compares both paths'
 * output against a lab.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {fastHealthArgs} from '../../src/fast/health.js'

describe('fastHealthArgs', () => {
  it('takes a plain health check with --json, --config, --context, --timeout and -o/--output wide', () => {
    assert.deepEqual(fastHealthArgs(['health'], {}), {
      json: false,
      wide: false,
      flags: {config: undefined, context: undefined, timeout: '3s'},
    })
    assert.deepEqual(fastHealthArgs(['health', '--json'], {}), {
      json: true,
      wide: false,
      flags: {config: undefined, context: undefined, timeout: '3s'},
    })
    assert.deepEqual(
      fastHealthArgs(['health', '--context', 'prod', '--config=/etc/p.yaml', '--timeout', '2s', '-o', 'wide'], {}),
      {json: false, wide: true, flags: {config: '/etc/p.yaml', context: 'prod', timeout: '2s'}},
    )
    assert.deepEqual(fastHealthArgs(['health', '--output=wide', '--json', '--context=a=b'], {}), {
      json: true,
      wide: true,
      flags: {config: undefined, context: 'a=b', timeout: '3s'},
    })
  })

  it('reads --config and --context from the environment as oclif does (only when not empty), the flag first', () => {
    const env = {PLASMACTL_CONFIG: '/c.yaml', PLASMACTL_CONTEXT: 'lab'}
    assert.deepEqual(fastHealthArgs(['health'], env)?.flags, {config: '/c.yaml', context: 'lab', timeout: '3s'})
    assert.deepEqual(fastHealthArgs(['health', '--context', 'x'], env)?.flags.context, 'x')
    assert.deepEqual(fastHealthArgs(['health'], {PLASMACTL_CONFIG: '', PLASMACTL_CONTEXT: ''})?.flags, {
      config: undefined,
      context: undefined,
      timeout: '3s',
    })
  })

  it('leaves everything else to oclif', () => {
    for (const argv of [
      [],
      ['status'],
      ['health', '--watch'],
      ['health', '-w'],
      ['health', '--help'],
      ['health', '-h'],
      ['health', '--debug'],
      ['health', '--format', 'prometheus'],
      ['health', '--component', 'chainfire'],
      ['health', '--json', '--json'],
      ['health', '--context', 'a', '--context', 'b'],
      ['health', '--context'],
      ['health', '--context', ''],
      ['health', '--context', '--json'],
      ['health', '--context='],
      ['health', '-o', 'narrow'],
      ['health', '-o=wide'],
      ['health', '-owide'],
      ['health', '--json=true'],
      ['health', 'extra'],
      ['health', '--'],
      ['health', '--jsn'],
    ])
      assert.equal(fastHealthArgs(argv, {}), undefined, argv.join(' '))
    assert.equal(fastHealthArgs(['health'], {PLASMACTL_NO_FAST_PATH: '1'}), undefined)
    assert.equal(fastHealthArgs(['health'], {PLASMACTL_CONTENT_TYPE: 'json'}), undefined)
  })
})
