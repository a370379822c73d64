import assert from 'node:assert/strict'
import net from 'node:net'
import {describe, it} from 'node:test'
import {quickIsIPv6} from '../../src/adapters/chainfire/net-fast.js'

describe('quick net.isIPv6 (for gRPC)', () => {
  it("answers as Node's own check does, and is installed once", () => {
    const original = net.isIPv6
    const inputs = [
      '127.0.0.1',
      '127.98.7.1',
      '10.0.0.256',
      'localhost',
      'n1.lab.example',
      '',
      '::',
      '::1',
      '[::1]',
      'fe80::1%eth0',
      '::ffff:127.0.0.1',
      '2001:db8::8a2e:370:7334',
      '2001:db8:0:0:0:0:2:1',
      '1:2:3:4:5:6:7:8:9',
      'gggg::1',
      ':',
      '127.0.0.1:2379',
    ]
    const expected = inputs.map((s) => original(s))
    quickIsIPv6()
    try {
      assert.notEqual(net.isIPv6, original)
      const installed = net.isIPv6
      quickIsIPv6()
      assert.equal(net.isIPv6, installed, 'a second install wraps nothing again')
      assert.deepEqual(
        inputs.map((s) => net.isIPv6(s)),
        expected,
      )
      assert.ok(expected.includes(true) && expected.includes(false))
    } finally {
      net.isIPv6 = original
    }
  })
})
