import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {chmod, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {after, before, describe, it} from 'node:test'
import {parseDocument} from 'yaml'
import {cliCommand, eventually, type Lab, startLab} from '../helpers/lab.js'

const exec = promisify(execFile)

/** In a production context a destructive confirmation wants the node's name typed, in a real terminal (tmux). */
describe('production confirmation', () => {
  let lab: Lab
  let prodConfig: string
  const socket = `plasmactl-confirm-${randomBytes(4).toString('hex')}`
  const tmux = (...args: string[]) => exec('tmux', ['-L', socket, ...args])
  const pane = async () => (await tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', 'c')).stdout
  const waitFor = (want: RegExp, what: string) =>
    eventually(async () => want.test(await pane()), 120_000, what).catch(async (error) => {
      throw new Error(`${(error as Error).message}\n--- pane ---\n${await pane()}`)
    })

  before(async () => {
    lab = await startLab({nodes: 3})
    const doc = parseDocument(await readFile(lab.configPath, 'utf8'))
    const idx = (doc.toJS().contexts as {name: string}[]).findIndex((c) => c.name === 'lab')
    doc.setIn(['contexts', idx, 'environment'], 'production')
    prodConfig = join(lab.dir, '..', 'production.yaml')
    await writeFile(prodConfig, doc.toString())
    const [cmd, pre] = cliCommand()
    const bin = join(lab.dir, '..', 'plasmactl')
    await writeFile(bin, `#!/bin/sh\nexec ${[cmd, ...pre].map((a) => `'${a}'`).join(' ')} "$@"\n`)
    await chmod(bin, 0o755)
    await tmux(
      'new-session',
      '-d',
      '-s',
      'c',
      '-x',
      '200',
      '-y',
      '50',
      `env PATH=${join(lab.dir, '..')}:$PATH PLASMACTL_CONFIG=${prodConfig} PS1='$ ' bash --norc --noprofile -i`,
    )
  })

  after(async () => {
    await tmux('kill-server').catch(() => undefined)
    await lab?.stop()
  })

  it('a runbook step with confirm: asks for the context name after "run" at the step prompt; y cancels, the name runs it', async () => {
    const book = join(lab.dir, '..', 'confirm.yaml')
    await writeFile(
      book,
      [
        'apiVersion: plasmactl/v1',
        'kind: Runbook',
        'metadata:',
        '  name: typed-confirm',
        'steps:',
        '  - id: touch',
        '    kind: run',
        '    on: n1',
        '    command: echo typed-confirm-ran',
        '    confirm: touch the marker on n1?',
        '',
      ].join('\n'),
    )
    const attempt = async (answer: string) => {
      await tmux('send-keys', '-t', 'c', 'C-l')
      await tmux('send-keys', '-t', 'c', '-l', `clear; plasmactl runbook run ${book}; echo "EXIT=$?"`)
      await tmux('send-keys', '-t', 'c', 'Enter')
      await waitFor(/step touch\?/, 'the step prompt')
      await tmux('send-keys', '-t', 'c', 'Enter')
      await waitFor(/PRODUCTION context: type the context name \(lab\) to confirm/, 'the typed-name prompt')
      await tmux('send-keys', '-t', 'c', '-l', answer)
      await tmux('send-keys', '-t', 'c', 'Enter')
      await waitFor(/EXIT=\d+/, 'the run to end')
      return pane()
    }
    const cancelled = await attempt('y')
    assert.match(cancelled, /step touch not confirmed/)
    assert.doesNotMatch(cancelled, /EXIT=0|touch @ n1/, 'the step did not run after "y"')
    const confirmed = await attempt('lab')
    assert.match(confirmed, /EXIT=0/)
    assert.match(confirmed, /^ok\s+touch @ n1/m, 'the step ran after the context name')
  })

  it('without a terminal the production confirmation is refused (exit 6) naming --yes', async () => {
    const r = await lab.cli(['node', 'remove', 'n2'], {env: {PLASMACTL_CONFIG: prodConfig}})
    assert.equal(r.exitCode, 6, r.stdout + r.stderr)
    assert.match(r.stderr, /confirmation needed and no terminal to ask[\s\S]*--yes/)
  })

  it('node remove asks for the node name; y or another name cancels (exit 6, nothing changed), the name proceeds', async () => {
    await tmux('send-keys', '-t', 'c', '-l', 'plasmactl node remove n3; echo "EXIT=$?"')
    await tmux('send-keys', '-t', 'c', 'Enter')
    await waitFor(/PRODUCTION context: type the node name \(n3\) to confirm/, 'the typed-name prompt')
    await tmux('send-keys', '-t', 'c', '-l', 'y')
    await tmux('send-keys', '-t', 'c', 'Enter')
    await waitFor(/EXIT=6/, 'a refusal after "y"')
    assert.match(await pane(), /not confirmed; nothing was changed/)
    const members = await lab.cli(['chainfire', 'members', '--json'], {env: {PLASMACTL_CONFIG: prodConfig}})
    assert.equal(members.json.data.members.length, 3, members.stdout)

    await tmux('send-keys', '-t', 'c', 'C-l')
    await tmux('send-keys', '-t', 'c', '-l', 'clear; plasmactl node remove n3; echo "EXIT=$?"')
    await tmux('send-keys', '-t', 'c', 'Enter')
    await waitFor(/type the node name \(n3\)/, 'the typed-name prompt again')
    await tmux('send-keys', '-t', 'c', '-l', 'n3')
    await tmux('send-keys', '-t', 'c', 'Enter')
    await waitFor(/EXIT=\d+/, 'the removal to end')
    assert.match(await pane(), /EXIT=0/)
    const after = await lab.cli(['chainfire', 'members', '--json'], {env: {PLASMACTL_CONFIG: prodConfig}})
    assert.deepEqual(after.json.data.members.map((m: {name: string}) => m.name).sort(), ['n1', 'n2'], after.stdout)
  })
})
