/**
 * The two ways plasmactl is installed, against a real 3-node lab:
 * - the single executable dist/plasmactl (`npm run build:exe`) runs the commands whose modules load
 *   lazily (health, snapshot save/verify, exec, runbook dry-run and run, node remove --dry-run), so
 *   the bundle cannot silently drop a dynamically loaded module; it writes its files (templates,
 *   runbooks, schemas) to a fresh cache directory on its first run;
 * - the npm tarball (`npm pack`) installs with `npm install -g` into a temporary prefix and runs.
 */
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {promisify} from 'node:util'
import {parseDocument} from 'yaml'
import {type Lab, REPO_ROOT, startLab} from '../helpers/lab.js'

const run = promisify(execFile)
const EXE = join(REPO_ROOT, 'dist', 'plasmactl')

describe('distribution: the single executable and the npm tarball', () => {
  let lab: Lab
  let tmp: string
  let env: Record<string, string>
  let installed: Promise<{bin?: string; error?: unknown}>
  const exe = (args: string[], extra: Record<string, string> = {}) => lab.cli(args, {env: {...env, ...extra}})

  before(async () => {
    assert.ok(existsSync(EXE), `${EXE} is missing: run \`npm run build:exe\` first`)
    tmp = await mkdtemp(join(tmpdir(), 'plasmactl-dist-'))
    // Every CLI call of this file, `lab up` included, runs the executable, with a cache dir of its own.
    process.env.PLASMACTL_BIN = EXE
    process.env.XDG_CACHE_HOME = join(tmp, 'cache')
    lab = await startLab({nodes: 3})
    env = {PLASMACTL_STATE_DIR: join(tmp, 'state')}
    // npm pack + install runs meanwhile: it mostly waits on the network and the disk.
    installed = packAndInstall(tmp).then(
      (bin) => ({bin}),
      (error: unknown) => ({error}),
    )
  })

  after(async () => {
    await lab?.stop()
    delete process.env.PLASMACTL_BIN
    delete process.env.XDG_CACHE_HOME
    if (tmp) await rm(tmp, {recursive: true, force: true})
  })

  it('the executable: --version, --help, and its files written once to the cache dir', async () => {
    const v = await exe(['--version'])
    assert.equal(v.exitCode, 0, v.stderr)
    assert.match(v.stdout, /^plasmactl\/\d+\.\d+\.\d+ linux-x64 node-v/)
    assert.equal(v.stderr, '', 'no warning from the single-executable runtime')
    const h = await exe(['--help'])
    assert.match(h.stdout, /TOPICS[\s\S]*runbook/)
    // --help and --version come from the texts rendered at build time (bin/fast-path.js; compared with
    // oclif's output by test/unit/fast-path.test.ts): a command's help is the npm path's.
    const exeHelp = await exe(['snapshot', 'save', '--help'])
    const npmHelp = await run(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), 'snapshot', 'save', '--help'])
    assert.equal(exeHelp.stdout, npmHelp.stdout)
    const dirs = await readdir(join(tmp, 'cache', 'plasmactl'))
    assert.equal(dirs.length, 1, `one extracted root: ${dirs.join(', ')}`)
    assert.match(dirs[0], /^exe-[0-9a-f]{16}$/)
    for (const f of [
      'package.json',
      'oclif.manifest.json',
      'schemas/config.schema.json',
      'templates/runbook/transcript.md',
      'runbooks/chainfire/rolling-restart.yaml',
    ]) {
      assert.ok(existsSync(join(tmp, 'cache', 'plasmactl', dirs[0], f)), f)
    }
  })

  it('the executable: health', async () => {
    const r = await exe(['health', '--json'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    assert.equal(r.json.status, 'ok')
    assert.match(r.json.data.components[0].summary, /3\/3 voters healthy/)
  })

  it('the executable: snapshot save and verify', async () => {
    const doc = parseDocument(await readFile(lab.configPath, 'utf8'))
    doc.setIn(['contexts', 0, 'snapshots'], doc.createNode({targets: [`file://${join(tmp, 'snapshots')}`]}))
    await writeFile(lab.configPath, doc.toString())
    const save = await exe(['snapshot', 'save', '--json'])
    assert.equal(save.exitCode, 0, save.stderr + save.stdout)
    const verify = await exe(['snapshot', 'verify', save.json.data.name, '--json'])
    assert.equal(verify.exitCode, 0, verify.stderr + verify.stdout)
    assert.equal(verify.json.ok, true)
    // A scheduled save runs this executable (not bin/run.js of the package root it extracted).
    const schedule = await exe(['snapshot', 'schedule', 'show', '--json'])
    assert.equal(schedule.exitCode, 0, schedule.stderr + schedule.stdout)
    const service = schedule.json.data.files.find((f: {path: string}) => f.path.endsWith('.service'))
    assert.match(service.content, new RegExp(`${EXE} .*snapshot save`))
  })

  it('the executable: exec over SSH', async () => {
    const r = await exe(['exec', 'all', '--json', '--', 'echo hello'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    assert.deepEqual(
      r.json.data.hosts.map((h: {node: string}) => h.node),
      ['n1', 'n2', 'n3'],
    )
  })

  it('the executable: runbook dry-run (a shipped runbook) and run (with its transcript)', async () => {
    const dry = await exe(['runbook', 'run', 'chainfire/rolling-restart', '--dry-run'])
    assert.equal(dry.exitCode, 0, dry.stderr + dry.stdout)
    assert.match(dry.stdout, /quorum: stop n\d: 2\/3 voters remain, failure tolerance 0/)
    const f = join(tmp, 'hello.yaml')
    await writeFile(
      f,
      'apiVersion: plasmactl/v1\nkind: Runbook\nmetadata:\n  name: hello\nsteps:\n  - id: hello\n    kind: run\n    on: all\n    command: echo hello\n  - id: local\n    kind: local\n    command: "true"\n',
    )
    const r = await exe(['runbook', 'run', f, '--yes', '--json'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    const runId = r.json.data.runId ?? r.json.data.id
    if (runId) {
      const log = await exe(['runbook', 'log', runId])
      assert.equal(log.exitCode, 0, log.stderr + log.stdout)
    }
  })

  it('the executable: node remove --dry-run', async () => {
    // The preflight refuses while a member looks unhealthy (a loaded machine's slow heartbeat): retry.
    let r = await exe(['node', 'remove', 'n2', '--dry-run', '--json'])
    for (let i = 0; i < 10 && r.json?.error?.code === 'REFUSED'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 3000))
      r = await exe(['node', 'remove', 'n2', '--dry-run', '--json'])
    }
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    assert.equal(r.json.data.dryRun, true)
    assert.ok(r.json.data.plan.steps.length > 0)
  })

  it('the npm tarball installs with npm install -g into a fresh prefix, and runs', {timeout: 600_000}, async () => {
    const {bin, error} = await installed
    if (error) throw error
    const v = await run(bin!, ['--version'], {cwd: tmp})
    assert.match(v.stdout, /^plasmactl\/\d+\.\d+\.\d+ /)
    // Exits non-zero if a component other than ChainFire is not ok (a test before set up backups).
    const h: {stdout: string} = await run(bin!, ['health', '--json'], {
      cwd: tmp,
      env: {...process.env, PLASMACTL_CONFIG: lab.configPath},
    }).catch((error) => error)
    const chainfire = JSON.parse(h.stdout).data.components[0]
    assert.equal(chainfire.component, 'chainfire')
    assert.equal(chainfire.status, 'ok', h.stdout)
  })
})

/** `npm pack`, then `npm install -g --prefix DIR/prefix` of the tarball; returns the installed bin. */
async function packAndInstall(dir: string): Promise<string> {
  const pack = await run('npm', ['pack', '--json', '--pack-destination', dir], {cwd: REPO_ROOT})
  const [{filename, files}] = JSON.parse(pack.stdout) as {filename: string; files: {path: string}[]}[]
  assert.ok(files.some((x) => x.path === 'bin/run.js'))
  assert.ok(
    !files.some((x) => x.path === 'dist/plasmactl' || x.path.startsWith('dist/exe/')),
    'the executable is not in the tarball',
  )
  const prefix = join(dir, 'prefix')
  await run(
    'npm',
    [
      'install',
      '-g',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      join(dir, filename),
    ],
    {cwd: dir},
  )
  return join(prefix, 'bin', 'plasmactl')
}
