import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {chmod, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {after, before, describe, it} from 'node:test'
import {cliCommand, eventually, runCli} from '../helpers/lab.js'

const exec = promisify(execFile)

const CONFIG = `apiVersion: plasmactl/v1
current-context: prod-east
contexts:
  - name: prod-east
    environment: production
    nodes:
      - {name: alpha1, address: 10.0.0.1, roles: [chainfire]}
      - {name: beta2, address: 10.0.0.2, roles: [chainfire]}
  - name: staging-west
    environment: staging
    nodes:
      - {name: gamma3, address: 10.0.1.3, roles: [chainfire]}
`

async function has(program: string): Promise<boolean> {
  return exec('sh', ['-c', `command -v ${program}`]).then(
    () => true,
    () => false,
  )
}

/**
 * Completion in a real terminal: bash and zsh run in tmux with the script `plasmactl completion`
 * prints; TAB completes context, node and runbook names from the config.
 */
describe('shell completion of context, node and runbook names', () => {
  let dir: string
  const socket = `plasmactl-completion-${randomBytes(4).toString('hex')}`
  const tmux = (...args: string[]) => exec('tmux', ['-L', socket, ...args])

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plasmactl-completion-'))
    await writeFile(join(dir, 'config.yaml'), CONFIG)
    const [cmd, pre] = cliCommand()
    await writeFile(join(dir, 'plasmactl'), `#!/bin/sh\nexec ${[cmd, ...pre].map((a) => `'${a}'`).join(' ')} "$@"\n`)
    await chmod(join(dir, 'plasmactl'), 0o755)
  })

  after(async () => {
    await tmux('kill-server').catch(() => undefined)
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('completion bash|zsh print scripts that call the hidden __complete; an unknown shell is bad input (exit 2)', async () => {
    const bash = await runCli(['completion', 'bash'])
    assert.equal(bash.exitCode, 0, bash.stderr)
    assert.match(bash.stdout, /complete -o default -F _plasmactl_complete plasmactl/)
    assert.match(bash.stdout, /plasmactl __complete --shell bash --/)
    const zsh = await runCli(['completion', 'zsh'])
    assert.match(zsh.stdout, /^#compdef plasmactl/)
    assert.equal((await runCli(['completion', 'fish'])).exitCode, 2)
    // __complete is hidden: not in the help, not a completion candidate.
    const top = await runCli(['__complete', '--', ''], {PLASMACTL_CONFIG: join(dir, 'config.yaml')})
    assert.ok(top.stdout.split('\n').includes('runbook'), top.stdout)
    const lines = top.stdout.split('\n')
    assert.ok(!lines.includes('complete') && !lines.includes('__complete'), top.stdout)
  })

  for (const shell of ['bash', 'zsh'] as const) {
    it(`${shell}: TAB completes context names, node names of the selected context, -p node= and runbook names`, async (t) => {
      if (!(await has(shell))) return t.skip(`${shell} is not installed`)
      const session = `s-${shell}`
      const rc = join(dir, `${shell}rc`)
      const init = shell === 'zsh' ? 'autoload -U compinit && compinit -u\n' : ''
      await writeFile(
        rc,
        `export PATH=${dir}:$PATH PLASMACTL_CONFIG=${join(dir, 'config.yaml')} PS1='$ '\n${init}eval "$(plasmactl completion ${shell})"\n`,
      )
      // zsh -f reads no start-up files: the shell sources ours as its first command.
      await tmux(
        'new-session',
        '-d',
        '-s',
        session,
        '-x',
        '200',
        '-y',
        '50',
        shell === 'bash' ? `bash --noprofile --rcfile ${rc} -i` : 'zsh -f -i',
      )
      if (shell === 'zsh') await tmux('send-keys', '-t', session, `source ${rc}`, 'Enter')
      const pane = async () => (await tmux('capture-pane', '-p', '-t', session)).stdout
      const tab = async (typed: string, want: RegExp) => {
        await tmux('send-keys', '-t', session, '-l', typed)
        await tmux('send-keys', '-t', session, 'Tab')
        await eventually(
          async () => want.test(await pane()),
          30_000,
          `${shell}: "${typed}<TAB>" to match ${want}`,
        ).catch(async (error) => {
          throw new Error(`${(error as Error).message}\n--- pane ---\n${await pane()}`)
        })
        await tmux('send-keys', '-t', session, 'C-c')
      }
      await eventually(async () => (await pane()).includes('$'), 30_000, `${shell} prompt`)
      await tab('plasmactl config use-context stag', /use-context staging-west/)
      await tab('plasmactl node remove al', /node remove alpha1/)
      await tab('plasmactl --context staging-west node remove ga', /node remove gamma3/)
      await tab('plasmactl runbook run chainfire/quorum', /runbook run chainfire\/quorum-loss-recovery/)
      await tab('plasmactl runbook run chainfire/restart-node -p node=be', /-p node=beta2/)
      await tab('plasmactl health --cont', /health --context/)
      await tab('plasmactl health --context staging', /--context staging-west/)
    })
  }
})
