import assert from 'node:assert/strict'
import {mkdtemp, readdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {loadConfig} from '../../src/config/load.js'
import {ConfigValidationError} from '../../src/config/validate.js'

const GOOD = `apiVersion: plasmactl/v1
current-context: a
contexts:
  - name: a
    environment: lab
    nodes:
      - {name: n1, address: 127.0.0.1, roles: [chainfire]}
`

describe('config validation cache', () => {
  let dir: string
  const saved = process.env.PLASMACTL_STATE_DIR
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plasmactl-cache-'))
    process.env.PLASMACTL_STATE_DIR = join(dir, 'state')
  })
  after(async () => {
    if (saved === undefined) delete process.env.PLASMACTL_STATE_DIR
    else process.env.PLASMACTL_STATE_DIR = saved
    await rm(dir, {recursive: true, force: true})
  })

  it('a second load of the same text comes from the cache and equals the validated config', async () => {
    const file = join(dir, 'config.yaml')
    await writeFile(file, GOOD)
    const first = await loadConfig(file)
    const cached = await readdir(join(dir, 'state', 'cache'))
    assert.equal(cached.length, 1)
    const second = await loadConfig(file)
    assert.deepEqual(second.config, first.config)
    assert.throws(() => second.doc, /without its document/)
    const withDoc = await loadConfig(file, {document: true})
    assert.equal(withDoc.doc.get('current-context'), 'a')
  })

  it('an edit (even a typo after a good load) is validated afresh, never served from the cache', async () => {
    const file = join(dir, 'config.yaml')
    await writeFile(file, GOOD)
    await loadConfig(file)
    await writeFile(file, GOOD.replace('address:', 'adress:'))
    await assert.rejects(
      loadConfig(file),
      (e: unknown) => e instanceof ConfigValidationError && /address/.test((e as Error).message),
    )
  })
})
