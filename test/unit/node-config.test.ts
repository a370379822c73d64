import assert from 'node:assert/strict'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {loadConfig} from '../../src/config/load.js'
import {addNodeToConfig, setNodeRemoved} from '../../src/services/node/common.js'

const CONFIG = `apiVersion: plasmactl/v1
current-context: prod
contexts:
  - name: prod # the real one
    environment: production
    chainfire:
      endpoints: [http://10.0.0.1:2379, http://10.0.0.2:2379]
    nodes:
      # first rack
      - {name: n1, address: 10.0.0.1, roles: [chainfire]}
      - name: n2
        address: 10.0.0.2 # spare PSU
        roles: [chainfire]
`

describe('node operations edit the config file in place', () => {
  it('marks a node removed (dropping its explicit endpoint), adds a node, and keeps every comment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plasmactl-node-config-'))
    try {
      const path = join(dir, 'config.yaml')
      await writeFile(path, CONFIG)
      await setNodeRemoved(await loadConfig(path), 'prod', 'n2', true)
      await addNodeToConfig(await loadConfig(path), 'prod', {name: 'n3', address: '10.0.0.3', roles: ['chainfire']})
      const text = await readFile(path, 'utf8')
      for (const c of ['# the real one', '# first rack', '# spare PSU']) assert.ok(text.includes(c), `keeps "${c}"`)
      const ctx = (await loadConfig(path)).config.contexts[0]
      assert.equal(ctx.nodes.find((n) => n.name === 'n2')?.removed, true)
      assert.deepEqual(ctx.chainfire?.endpoints, ['http://10.0.0.1:2379'])
      assert.deepEqual(
        ctx.nodes.map((n) => n.name),
        ['n1', 'n2', 'n3'],
      )
      await setNodeRemoved(await loadConfig(path), 'prod', 'n2', false)
      const back = (await loadConfig(path)).config.contexts[0]
      assert.equal(back.nodes.find((n) => n.name === 'n2')?.removed, undefined)
      assert.deepEqual(back.chainfire?.endpoints, ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'])
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
