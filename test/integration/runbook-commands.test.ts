import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {runCli} from '../helpers/lab.js'

/*
 * The commands that need no cluster, through the real binary: runbook new/lint/list/show and
 * snapshot schedule show/install. Each runs with its own HOME and config, so nothing of the
 * machine's (user runbooks, contexts) leaks in.
 */
describe('runbook new/lint/list/show and snapshot schedule through the real binary', () => {
  let home: string
  let dir: string
  let env: Record<string, string | undefined>
  const cli = (args: string[]) => runCli(args, env)

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'plasmactl-rbcmd-'))
    dir = join(home, 'runbooks')
    env = {
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
      XDG_STATE_HOME: join(home, '.state'),
      PLASMACTL_CONFIG: join(home, 'config.yaml'),
      PLASMACTL_CONTEXT: undefined,
      PLASMACTL_RUNBOOK_PATH: dir,
    }
  })
  after(() => rm(home, {recursive: true, force: true}))

  it('runbook new scaffolds a runbook that lints; it never overwrites and refuses a bad name', async () => {
    const r = await cli(['runbook', 'new', 'team/check-disk', '--dir', dir])
    assert.equal(r.exitCode, 0, r.stderr)
    const file = join(dir, 'team', 'check-disk.yaml')
    assert.equal(
      r.stdout,
      `created ${file}\nnext: plasmactl runbook lint ${file} && plasmactl runbook run ${file} --dry-run\n`,
    )
    const text = await readFile(file, 'utf8')
    assert.match(text, /^ {2}name: team\/check-disk$/m)
    assert.doesNotMatch(text, /@NAME@/)
    // A second `new` leaves the operator's edits alone.
    await writeFile(file, text.replace('uptime', 'df -h'))
    const again = await cli(['runbook', 'new', 'team/check-disk', '--dir', dir, '--json'])
    assert.equal(again.exitCode, 2)
    assert.equal(again.json.error.code, 'USAGE')
    assert.match(again.json.error.message, /already exists/)
    assert.match(await readFile(file, 'utf8'), /command: df -h/)
    const bad = await cli(['runbook', 'new', 'Bad Name', '--dir', dir])
    assert.equal(bad.exitCode, 2)
    assert.match(bad.stderr, /invalid runbook name "Bad Name"/)
    assert.deepEqual(await readdir(dir), ['team'], 'nothing written for a bad name')
  })

  it('runbook lint: ok for the scaffold, file:line:col errors (exit 2) for a broken one', async () => {
    const good = join(dir, 'team', 'check-disk.yaml')
    const ok = await cli(['runbook', 'lint', good])
    assert.equal(ok.exitCode, 0, ok.stdout + ok.stderr)
    assert.equal(ok.stdout, `ok    ${good}\n`)
    const broken = join(dir, 'team', 'broken.yaml')
    await writeFile(
      broken,
      'apiVersion: plasmactl/v1\nkind: Runbook\nmetadata:\n  name: team/broken\nsteps:\n  - id: a\n    kind: teleport\n    on: n1\n',
    )
    const r = await cli(['runbook', 'lint', broken, good])
    assert.equal(r.exitCode, 2)
    assert.match(r.stdout, new RegExp(`^${broken}:7:11: error: .*kind`, 'm'))
    assert.match(r.stdout, new RegExp(`^ok    ${good}$`, 'm'))
    const json = await cli(['runbook', 'lint', broken, '--json'])
    assert.equal(json.exitCode, 2)
    assert.equal(json.json.data.ok, false)
    assert.equal(json.json.data.files[0].problems[0].line, 7)
    await rm(broken)
  })

  it('runbook list shows user runbooks beside the shipped ones, with params and lint state', async () => {
    const r = await cli(['runbook', 'list'])
    assert.equal(r.exitCode, 0, r.stderr)
    assert.match(r.stdout, /^NAME\s+PARAMS\s+LINT\s+DESCRIPTION$/m)
    assert.match(r.stdout, /^team\/check-disk\s+node\s+ok\s+What this runbook fixes/m)
    assert.match(r.stdout, /^chainfire\/restart-node\s/m)
    const json = await cli(['runbook', 'list', '--json'])
    const mine = json.json.data.runbooks.find((x: {name: string}) => x.name === 'team/check-disk')
    assert.equal(mine.file, join(dir, 'team', 'check-disk.yaml'))
    assert.deepEqual(mine.params, ['node'])
    assert.equal(mine.lintErrors, 0)
    assert.deepEqual(json.json.warnings, [])
  })

  it('runbook show prints the file under a header; --json has the parsed steps and params', async () => {
    const file = join(dir, 'team', 'check-disk.yaml')
    const r = await cli(['runbook', 'show', 'team/check-disk'])
    assert.equal(r.exitCode, 0, r.stderr)
    assert.equal(r.stdout, `# team/check-disk (${file})\n${(await readFile(file, 'utf8')).trimEnd()}\n`)
    const json = await cli(['runbook', 'show', 'team/check-disk', '--json'])
    assert.deepEqual(
      json.json.data.steps.map((s: {id: string}) => s.id),
      ['show-status', 'wait-healthy'],
    )
    assert.equal(json.json.data.params.node.type, 'node')
    assert.match(json.json.data.stepsDigest, /^[0-9a-f]{16,}$/)
    const missing = await cli(['runbook', 'show', 'team/no-such'])
    assert.equal(missing.exitCode, 2)
    assert.match(missing.stderr, /no-such/)
  })

  it('snapshot schedule show renders the units and the crontab line and writes nothing', async () => {
    const init = await cli([
      'config',
      'init',
      '--context-name',
      'prod-eu1',
      '--environment',
      'production',
      '--node',
      'n1=10.0.0.1',
      '--endpoint',
      'http://10.0.0.1:2379',
    ])
    assert.equal(init.exitCode, 0, init.stderr)
    const units = join(home, 'units')
    const r = await cli(['snapshot', 'schedule', 'show', '--dir', units, '--cron-dir', units])
    assert.equal(r.exitCode, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`^# ${units}/plasmactl-snapshot-prod-eu1\\.service$`, 'm'))
    assert.match(r.stdout, new RegExp(`^# ${units}/plasmactl-snapshot-prod-eu1\\.timer$`, 'm'))
    assert.match(r.stdout, /^OnCalendar=hourly$/m)
    assert.match(
      r.stdout,
      /^17 \* \* \* \* \S+ PLASMACTL_CONFIG=\S+ .* snapshot save --context prod-eu1 --log-format json /m,
    )
    assert.equal(existsSync(units), false, 'show writes nothing')
    const json = await cli(['snapshot', 'schedule', 'show', '--dir', units, '--cron-dir', units, '--json'])
    assert.equal(json.json.data.installed, false)
    assert.deepEqual(
      json.json.data.files.map((f: {path: string}) => f.path),
      ['service', 'timer', ''].map((ext) => join(units, `plasmactl-snapshot-prod-eu1${ext ? `.${ext}` : ''}`)),
    )
  })

  it('snapshot schedule install writes exactly what show renders; a bad schedule writes nothing (exit 2)', async () => {
    const units = join(home, 'installed')
    await mkdir(units)
    const flags = ['--dir', units, '--cron-dir', units, '--on-calendar', 'Mon..Fri *:00/15', '--cron', '@hourly']
    const bad = await cli(['snapshot', 'schedule', 'install', ...flags.slice(0, 4), '--cron', '61 * * * *'])
    assert.equal(bad.exitCode, 2)
    assert.deepEqual(await readdir(units), [])
    const shown = await cli(['snapshot', 'schedule', 'show', ...flags, '--json'])
    const r = await cli(['snapshot', 'schedule', 'install', ...flags])
    assert.equal(r.exitCode, 0, r.stderr)
    for (const f of shown.json.data.files as {path: string; content: string}[]) {
      assert.equal(await readFile(f.path, 'utf8'), f.content)
      assert.match(r.stdout, new RegExp(`^wrote ${f.path}$`, 'm'))
    }
    assert.match(
      r.stdout,
      /^enable with: systemctl daemon-reload && systemctl enable --now plasmactl-snapshot-prod-eu1\.timer$/m,
    )
    assert.match(await readFile(join(units, 'plasmactl-snapshot-prod-eu1'), 'utf8'), /^@hourly /m)
  })
})
