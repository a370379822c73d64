import assert from 'node:assert/strict'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseDocument} from 'yaml'
import {type Lab, startLab} from '../helpers/lab.js'

/** The lab context as `lab up` writes it: backups configured out of the box, the operator's edits kept, tidy YAML. */
describe('lab context', () => {
  let lab: Lab
  const up = () =>
    lab.cli(['lab', 'up', '--dir', lab.dir, '--address-prefix', lab.addressPrefix, '--nodes', '3', '--json'])
  const labCtx = async () =>
    (
      parseDocument(await readFile(lab.configPath, 'utf8')).toJS().contexts as {
        name: string
        snapshots?: {targets?: string[]}
      }[]
    ).find((c) => c.name === 'lab')

  before(async () => {
    lab = await startLab({nodes: 3})
  })

  after(async () => {
    await lab?.stop()
  })

  it('a new lab has a snapshot target in its dir and a first snapshot, so health shows the backup age (ok)', async () => {
    const target = `file://${join(lab.dir, 'snapshots')}`
    assert.deepEqual((await labCtx())?.snapshots?.targets, [target])
    const list = await lab.cli(['snapshot', 'list', '--json'])
    assert.equal(list.exitCode, 0, list.stderr)
    assert.equal(list.json.data.snapshots.length, 1, list.stdout)
    const health = await lab.cli(['health', '--json'])
    assert.equal(health.exitCode, 0, health.stdout + health.stderr)
    const backups = health.json.data.components.find((c: {component: string}) => c.component === 'backups')
    assert.equal(backups.status, 'ok', JSON.stringify(backups))
    assert.match(backups.summary, /^newest \S+, .* old/)
  })

  it("re-running lab up keeps the operator's snapshot targets and takes no second first snapshot", async () => {
    const text = await readFile(lab.configPath, 'utf8')
    const doc = parseDocument(text)
    const idx = (doc.toJS().contexts as {name: string}[]).findIndex((c) => c.name === 'lab')
    const mine = [`file://${join(lab.dir, '..', 'my-snapshots')}`, `file://${join(lab.dir, 'snapshots')}`]
    doc.setIn(['contexts', idx, 'snapshots'], doc.createNode({targets: mine, rpo: '2h'}))
    await writeFile(lab.configPath, doc.toString())
    const again = await up()
    assert.equal(again.exitCode, 0, again.stdout + again.stderr)
    assert.deepEqual((await labCtx())?.snapshots, {targets: mine, rpo: '2h'})
    assert.equal((await lab.cli(['snapshot', 'list', '--target', mine[1], '--json'])).json.data.snapshots.length, 1)
  })

  it('lab up after lab down --purge writes block-style YAML with current-context before the contexts', async () => {
    const down = await lab.cli(['lab', 'down', '--dir', lab.dir, '--purge', '--json'])
    assert.equal(down.exitCode, 0, down.stdout + down.stderr)
    const back = await up()
    assert.equal(back.exitCode, 0, back.stdout + back.stderr)
    const text = await readFile(lab.configPath, 'utf8')
    assert.doesNotMatch(text, /contexts: \[/, text)
    assert.match(text, /^contexts:\n {2}- name: lab$/m, text)
    const lines = text.split('\n')
    const current = lines.findIndex((l) => l.startsWith('current-context: lab'))
    assert.ok(current !== -1 && current < lines.findIndex((l) => l.startsWith('contexts:')), text)
  })
})
