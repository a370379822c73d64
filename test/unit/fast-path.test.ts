/**
 * bin/fast-path.js answers --help, -h, help, --version and version from texts oclif rendered at build
 * time (dist/help.json, `npm run build`): for every command, alias and topic, and every way of asking,
 * its answer is what oclif itself prints; whatever it cannot answer the same way goes to oclif.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {promisify} from 'node:util'
import {REPO_ROOT} from '../helpers/lab.js'

const {fastOutput} = (await import(join(REPO_ROOT, 'bin', 'fast-path.js'))) as {
  fastOutput: (argv: string[], load: () => unknown, env?: Record<string, string>) => string | undefined
}

/**
 * oclif's own output for each argv, from a process of its own (this one's stdout carries the test
 * runner's reports): plain, at its width for a non-terminal stdout, as the texts are rendered.
 */
const ORACLE = `
import {Config} from '@oclif/core'
const {helpKeys, oclifOutput} = await import(${JSON.stringify(join(REPO_ROOT, 'dist', 'output', 'help-texts.js'))})
const config = await Config.load(${JSON.stringify(REPO_ROOT)})
const argvs = JSON.parse(process.argv[1] ?? 'null')
const out = {userAgent: config.userAgent, ...helpKeys(config), outputs: []}
for (const argv of argvs ?? []) out.outputs.push(await oclifOutput(config, argv))
process.stdout.write(JSON.stringify(out))
`
interface Oracle {
  userAgent: string
  keys: string[]
  topicsOnly: string[]
  outputs: string[]
}
async function oclif(argvs: string[][] = []): Promise<Oracle> {
  const {stdout} = await promisify(execFile)(
    process.execPath,
    ['--input-type=module', '-e', ORACLE, JSON.stringify(argvs)],
    {cwd: REPO_ROOT, env: {...process.env, OCLIF_COLUMNS: '80', NO_COLOR: '1', NODE_OPTIONS: ''}, maxBuffer: 64 << 20},
  )
  return JSON.parse(stdout) as Oracle
}

describe('the fast path for help and version (bin/fast-path.js)', () => {
  let data: unknown
  let subjects: Oracle
  const fast = (argv: string[], env: Record<string, string> = {}) => fastOutput(argv, () => data, env)

  before(async () => {
    data = JSON.parse(await readFile(join(REPO_ROOT, 'dist', 'help.json'), 'utf8'))
    subjects = await oclif()
  })

  it("prints oclif's output for every command, alias and topic, asked every way, and for --version", async () => {
    const {keys, topicsOnly} = subjects
    assert.ok(keys.length > 50, `${keys.length} help subjects`)
    const argvs = [['--version'], ['version']]
    for (const key of keys) {
      const words = key === '' ? [] : key.split(':')
      argvs.push([...words, '--help'], [...words, '-h'], ['help', ...words])
      if (key === '') argvs.push([])
      if (topicsOnly.includes(key)) argvs.push(words)
    }
    const {outputs} = await oclif(argvs)
    assert.equal(outputs[0], `${subjects.userAgent}\n`)
    argvs.forEach((argv, i) => {
      assert.ok(outputs[i].length > 0, `oclif printed nothing for ${argv.join(' ')}`)
      assert.equal(fast(argv), outputs[i], `plasmactl ${argv.join(' ')}`)
    })
  })

  it('leaves to oclif what it cannot answer the same way', () => {
    for (const argv of [
      ['health'],
      ['snapshot', 'save'],
      ['snapshot', 'nosuch'],
      ['snapshot', 'nosuch', '--help'],
      ['snapshot', 'save', '--json', '--help'],
      ['help', 'snapshot', '--help'],
      ['--help', '--', 'x'],
      ['version', '--json'],
      ['-v'],
    ])
      assert.equal(fast(argv), undefined, `plasmactl ${argv.join(' ')}`)
    // oclif would colour the output, or wrap it at another width.
    const colouring: Record<string, string>[] = [
      {FORCE_COLOR: '1'},
      {COLORTERM: 'truecolor'},
      {CI: 'true'},
      {TEAMCITY_VERSION: '1'},
      {OCLIF_COLUMNS: '120'},
    ]
    for (const env of colouring) assert.equal(fast(['--help'], env), undefined, JSON.stringify(env))
    const plain: Record<string, string>[] = [{NO_COLOR: '1', CI: 'true'}, {FORCE_COLOR: '0'}, {OCLIF_COLUMNS: '80'}]
    for (const env of plain) assert.ok(fast(['--help'], env), JSON.stringify(env))
    // No texts (a build without them): oclif answers.
    assert.equal(
      fastOutput(['--help'], () => undefined, {}),
      undefined,
    )
    assert.equal(
      fastOutput(
        ['--version'],
        () => {
          throw new Error('ENOENT')
        },
        {},
      ),
      undefined,
    )
  })

  describe('bin/run.js', () => {
    let tmp: string
    before(async () => {
      tmp = await mkdtemp(join(tmpdir(), 'plasmactl-fast-path-'))
      // A module hook that fails any import of @oclif/core: the fast path must not need it.
      await writeFile(
        join(tmp, 'hooks.mjs'),
        "export async function resolve(s, c, next) { if (s === '@oclif/core') throw new Error('@oclif/core was loaded'); return next(s, c) }\n",
      )
      await writeFile(
        join(tmp, 'register.mjs'),
        `import {register} from 'node:module'\nregister(${JSON.stringify(`file://${join(tmp, 'hooks.mjs')}`)})\n`,
      )
    })
    after(async () => {
      if (tmp) await rm(tmp, {recursive: true, force: true})
    })
    const runJs = (argv: string[], noOclif: boolean) =>
      promisify(execFile)(
        process.execPath,
        [...(noOclif ? ['--import', join(tmp, 'register.mjs')] : []), join(REPO_ROOT, 'bin', 'run.js'), ...argv],
        {env: {PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_OPTIONS: ''}},
      )

    it('answers help and version without loading oclif, as oclif does', async () => {
      const argvs = [['--help'], ['snapshot', 'save', '-h'], ['help', 'node'], ['vm'], ['--version']]
      const {outputs} = await oclif(argvs)
      for (const [i, argv] of argvs.entries()) {
        const {stdout, stderr} = await runJs(argv, true)
        assert.equal(stderr, '')
        assert.equal(stdout, outputs[i], `plasmactl ${argv.join(' ')}`)
      }
    })

    it('loads oclif for everything else (the hook that proves it works)', async () => {
      await assert.rejects(runJs(['snapshot', 'save', '--json', '--help'], true), /@oclif\/core was loaded/)
    })
  })
})
