import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import {promisify} from 'node:util'
import {describe, it} from 'node:test'

describe('bin/run.js (the launcher)', () => {
  it("checks the same minimum Node version as package.json's engines", async () => {
    const launcher = await readFile(new URL('../../bin/run.js', import.meta.url), 'utf8')
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      engines: {node: string}
    }
    const min = /const MIN_NODE = \[(\d+), (\d+)\]/.exec(launcher)
    assert.ok(min, 'MIN_NODE not found in bin/run.js')
    assert.equal(pkg.engines.node, `>=${min[1]}.${min[2]}`)
  })

  it('starts without warnings on this Node (no engine warning from oclif or plasmactl)', async () => {
    const bin = new URL('../../bin/run.js', import.meta.url).pathname
    const {stdout, stderr} = await promisify(execFile)(process.execPath, [bin, '--version'], {
      env: {...process.env, NODE_OPTIONS: ''},
    })
    assert.match(stdout, /^plasmactl\/\d+\.\d+\.\d+ /)
    assert.equal(stderr, '')
  })
})
