/**
 * Interop with the real tools as oracles: systemd-analyze (calendar events, unit files), cron's
 * own crontab(1) parser, promtool and the Python Prometheus client. Each case is judged by the
 * tool and by plasmactl, and the verdicts must agree; nothing here hard-codes what a tool says.
 */
import assert from 'node:assert/strict'
import {execFileSync, spawnSync} from 'node:child_process'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir, userInfo} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import type {Context} from '../../src/config/schema.js'
import {renderHealthPrometheus} from '../../src/output/prometheus.js'
import type {HealthReport} from '../../src/services/health/index.js'
import type {ChainfireHealth, MemberHealth} from '../../src/services/health/probes/chainfire.js'
import {parseOnCalendar, validateCron} from '../../src/services/snapshot/calendar.js'
import {writeSaveMetrics} from '../../src/services/snapshot/metrics.js'
import {renderSchedule} from '../../src/services/snapshot/schedule.js'

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0
}

const CALENDARS = [
  'hourly', 'minutely', 'daily', 'weekly', 'monthly', 'yearly', 'annually', 'quarterly', 'semiannually', 'semi-annually', 'HOURLY',
  'bogus', '', 'today', 'now', 'weekly weekly', '*',
  '*-*-* *:00/15:00', 'Mon..Fri 09:00', 'Mon..Fri 25:00', 'Fri..Mon', 'Wed..Mon 10:00', 'Sat,Sun 3:00', 'Mon,Tue..Thu', 'monday 10:00', 'Mon', 'Mon,Fri',
  '*-*-1 00:00', '*-*-0', '*-13-01', '*-12-32', '*-*-1..5', '*-*-5..1', '*-02~03', '05-12', '2026-12-24', '2199-12-31', '2200-01-01', '1969-01-01',
  '12:00', '9:5', '12:00:59.5', '12:00:60', '*-*-* 24:00', '*-*-* 9', '*:*', '*:0/15', '00/2:00', '*/2:00', '0/0:00', '10:00:00/0', '10:00,14:00',
  'Fri 13:61', '*-*-* 1:2:3:4', '1..5', 'Mon *-*-* 10:00 UTC', '12:00 UTC', 'Mon 10:00 Europe/Berlin', 'Mon 10:00 Nowhere/Place', 'Sun *-*-* 02:30', 'Mon 2026-01-01',
]

const CRONS = [
  '17 * * * *', '*/15 * * * *', '0 0 * * 0', '0 0 * * 7', '0 0 * * 8', '61 * * * *', '60 * * * *', '0 25 * * *', '0 0 0 * *', '0 0 32 * *', '0 0 * 13 *', '0 0 * 0 *',
  '0 0 * jan-mar mon', '0 0 * * mon-fri', '0 0 * JAN *', '0 0 * * sun', '5-1 * * * *', '*/0 * * * *', '5/2 * * * *', '1-10/3 * * * *', '1,2,3 * * * *',
  '@hourly', '@daily', '@weekly', '@monthly', '@yearly', '@annually', '@midnight', '@reboot', '@every', '@5m', '* * * *', '* * * * * *', 'x * * * *', '1- * * * *',
]

describe('OnCalendar: plasmactl agrees with systemd-analyze calendar', {skip: !has('systemd-analyze') && 'systemd-analyze not installed'}, () => {
  test(`${CALENDARS.length} expressions`, () => {
    const disagree: string[] = []
    for (const expr of CALENDARS) {
      const systemd = spawnSync('systemd-analyze', ['calendar', expr], {stdio: 'ignore'}).status === 0
      if (parseOnCalendar(expr) !== systemd) disagree.push(`${JSON.stringify(expr)}: systemd ${systemd}`)
    }
    assert.deepEqual(disagree, [])
  })
})

describe('cron schedules: plasmactl agrees with crontab(1)', {skip: (!has('crontab') || userInfo().uid !== 0) && 'needs cron and root'}, () => {
  // crontab(1) checks every field before it installs; a throwaway user's crontab is the probe.
  const user = 'nobody'
  after(() => spawnSync('crontab', ['-u', user, '-r'], {stdio: 'ignore'}))
  test(`${CRONS.length} schedules`, () => {
    const disagree: string[] = []
    for (const schedule of CRONS) {
      const cron = spawnSync('crontab', ['-u', user, '-'], {input: `${schedule} true\n`, stdio: ['pipe', 'ignore', 'ignore']}).status === 0
      let ours = true
      try {
        validateCron(schedule)
      } catch {
        ours = false
      }
      if (ours !== cron) disagree.push(`${JSON.stringify(schedule)}: cron ${cron}`)
    }
    assert.deepEqual(disagree, [])
  })
})

describe('snapshot schedule files are accepted by systemd and keep `%` literal', {skip: !has('systemd-analyze') && 'systemd-analyze not installed'}, () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plasmactl-units-'))
  })
  after(() => rm(dir, {recursive: true, force: true}))

  test('systemd-analyze verify passes on the rendered service and timer (paths with %, spaces and quotes)', async () => {
    const ctx = {name: 'eu 100%', environment: 'production', nodes: []} as unknown as Context
    const files = await renderSchedule(
      {ctx, configPath: join(dir, 'conf 50%/config.yaml'), bin: '/bin/true', user: 'root', onCalendar: '*-*-* *:00/15:00', cron: '@hourly', metricsFile: join(dir, "m%i 'x'.prom"), logFile: join(dir, 'l%h.log'), cronDir: dir},
      dir,
    )
    for (const f of files) await writeFile(f.path, f.content)
    const [service, timer, cron] = files
    const r = spawnSync('systemd-analyze', ['verify', service.path, timer.path], {encoding: 'utf8'})
    assert.equal(r.status, 0, r.stderr)
    // What systemd will pass to the program: `systemd-analyze` has no ExecStart dump offline, so
    // check the one rule that matters — no single `%` (a specifier) is left anywhere in the units.
    for (const f of [service, timer]) {
      const settings = f.content.split('\n').filter((l) => !l.startsWith('#')).join('\n')
      assert.doesNotMatch(settings.replaceAll('%%', ''), /%/, f.path)
    }
    assert.match(service.content, /conf 50%%\/config\.yaml/)
    // cron turns a bare % into a newline: every % in the command is escaped.
    const line = cron.content.split('\n').find((l) => l.startsWith('@hourly'))!
    assert.doesNotMatch(line.replaceAll('\\%', ''), /%/)
    assert.match(cron.path, /\/[A-Za-z0-9_-]+$/, 'cron.d file names must not contain dots')
  })

  test('a calendar systemd rejects is refused before anything is written', async () => {
    const ctx = {name: 'x', environment: 'lab', nodes: []} as unknown as Context
    const base = {ctx, configPath: '/c.yaml', bin: '/bin/true', user: 'root', cron: '17 * * * *', metricsFile: '/m', logFile: '/l'}
    await assert.rejects(renderSchedule({...base, onCalendar: 'Mon..Fri 25:00'}, dir), /not a valid systemd calendar event/)
    await assert.rejects(renderSchedule({...base, onCalendar: 'bogus'}, dir), /not a valid systemd calendar event/)
    await assert.rejects(renderSchedule({...base, onCalendar: 'hourly', cron: '0 25 * * *'}, dir), /hour "25" is out of range/)
  })
})

function member(name: string, leader: boolean): MemberHealth {
  return {
    name, id: `${name}-id`, endpoint: `http://127.0.0.1:2379`, reachable: true, healthy: true, leader, learner: false, raftTerm: 3, raftIndex: 100, appliedIndex: 100,
    lag: 0, dbSize: 20480, dbSizeInUse: 16384, version: '3.4.23', clusterId: 'c1', alarms: leader ? ['NOSPACE'] : [], latencyMs: 2, error: null,
  }
}

function report(): HealthReport {
  const cf: ChainfireHealth = {
    clusterId: 'c1', clusterIdAgrees: true, leader: 'n1', leaderId: 'n1-id', raftTerm: 3, revision: 42, quorum: true, voters: 3, votersHealthy: 3, quorumSize: 2,
    failureTolerance: 1, learners: 0, alarms: [], members: [member('n1', true), member('n2', false), member('n3', false)],
  }
  return {
    context: 'lab', environment: 'lab', status: 'ok', checkedAt: new Date().toISOString(), durationMs: 12, problems: [],
    components: [{component: 'chainfire', status: 'ok', details: cf} as unknown as HealthReport['components'][number], {component: 'flaredb', status: 'skipped'} as unknown as HealthReport['components'][number]],
  }
}

const PY_PARSE = `
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = list(text_string_to_metric_families(sys.stdin.read()))
names = [f.name for f in fams]
dups = sorted(set(n for n in names if names.count(n) > 1))
untyped = sorted(f.name for f in fams if f.type == 'unknown')
print("families=%d samples=%d dups=%s untyped=%s" % (len(fams), sum(len(f.samples) for f in fams), ",".join(dups), ",".join(untyped)))
`

function pythonWithClient(): string | undefined {
  for (const py of ['/usr/bin/python3', 'python3']) if (spawnSync(py, ['-c', 'import prometheus_client'], {stdio: 'ignore'}).status === 0) return py
  return undefined
}

describe('Prometheus text: promtool and the Python client parse every family once, typed', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plasmactl-prom-'))
  })
  after(() => rm(dir, {recursive: true, force: true}))

  async function texts(): Promise<Record<string, string>> {
    const metricsFile = join(dir, 'snap.prom')
    await writeSaveMetrics(metricsFile, {context: 'lab', success: true, durationMs: 1500, bytes: 4096, revision: 42})
    return {health: renderHealthPrometheus(report()), snapshot: await readFile(metricsFile, 'utf8')}
  }

  test('promtool check metrics', {skip: !has('promtool') && 'promtool not installed'}, async () => {
    for (const [name, text] of Object.entries(await texts())) {
      const r = spawnSync('promtool', ['check', 'metrics'], {input: text, encoding: 'utf8'})
      assert.equal(r.status, 0, `${name}: ${r.stdout}${r.stderr}`)
    }
  })

  test('prometheus_client text parser', async (t) => {
    const py = pythonWithClient()
    if (!py) return t.skip('python3 prometheus_client not installed')
    for (const [name, text] of Object.entries(await texts())) {
      const out = execFileSync(py, ['-c', PY_PARSE], {input: text, encoding: 'utf8'}).trim()
      const samples = text.split('\n').filter((l) => l && !l.startsWith('#')).length
      const families = new Set(text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2])).size
      assert.equal(out, `families=${families} samples=${samples} dups= untyped=`, name)
    }
  })
})
