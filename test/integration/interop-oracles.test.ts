/**
 * Interop with the real tools as oracles: systemd-analyze (calendar events, unit files), cron's
 * own crontab(1) parser, promtool and the Python Prometheus client. Each case is judged by the
 * tool and by plasmactl, and the verdicts must agree; nothing here hard-codes what a tool says.
 */
import assert from 'node:assert/strict'
import {type ChildProcess, execFileSync, spawn, spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
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
  'hourly',
  'minutely',
  'daily',
  'weekly',
  'monthly',
  'yearly',
  'annually',
  'quarterly',
  'semiannually',
  'semi-annually',
  'HOURLY',
  'bogus',
  '',
  'today',
  'now',
  'weekly weekly',
  '*',
  '*-*-* *:00/15:00',
  'Mon..Fri 09:00',
  'Mon..Fri 25:00',
  'Fri..Mon',
  'Wed..Mon 10:00',
  'Sat,Sun 3:00',
  'Mon,Tue..Thu',
  'monday 10:00',
  'Mon',
  'Mon,Fri',
  '*-*-1 00:00',
  '*-*-0',
  '*-13-01',
  '*-12-32',
  '*-*-1..5',
  '*-*-5..1',
  '*-02~03',
  '05-12',
  '2026-12-24',
  '2199-12-31',
  '2200-01-01',
  '1969-01-01',
  '12:00',
  '9:5',
  '12:00:59.5',
  '12:00:60',
  '*-*-* 24:00',
  '*-*-* 9',
  '*:*',
  '*:0/15',
  '00/2:00',
  '*/2:00',
  '0/0:00',
  '10:00:00/0',
  '10:00,14:00',
  'Fri 13:61',
  '*-*-* 1:2:3:4',
  '1..5',
  'Mon *-*-* 10:00 UTC',
  '12:00 UTC',
  'Mon 10:00 Europe/Berlin',
  'Mon 10:00 Nowhere/Place',
  'Sun *-*-* 02:30',
  'Mon 2026-01-01',
]

const CRONS = [
  '17 * * * *',
  '*/15 * * * *',
  '0 0 * * 0',
  '0 0 * * 7',
  '0 0 * * 8',
  '61 * * * *',
  '60 * * * *',
  '0 25 * * *',
  '0 0 0 * *',
  '0 0 32 * *',
  '0 0 * 13 *',
  '0 0 * 0 *',
  '0 0 * jan-mar mon',
  '0 0 * * mon-fri',
  '0 0 * JAN *',
  '0 0 * * sun',
  '5-1 * * * *',
  '*/0 * * * *',
  '5/2 * * * *',
  '1-10/3 * * * *',
  '1,2,3 * * * *',
  '@hourly',
  '@daily',
  '@weekly',
  '@monthly',
  '@yearly',
  '@annually',
  '@midnight',
  '@reboot',
  '@every',
  '@5m',
  '* * * *',
  '* * * * * *',
  'x * * * *',
  '1- * * * *',
]

describe(
  'OnCalendar: plasmactl agrees with systemd-analyze calendar',
  {skip: !has('systemd-analyze') && 'systemd-analyze not installed'},
  () => {
    test(`${CALENDARS.length} expressions`, () => {
      const disagree: string[] = []
      for (const expr of CALENDARS) {
        const systemd = spawnSync('systemd-analyze', ['calendar', expr], {stdio: 'ignore'}).status === 0
        if (parseOnCalendar(expr) !== systemd) disagree.push(`${JSON.stringify(expr)}: systemd ${systemd}`)
      }
      assert.deepEqual(disagree, [])
    })
  },
)

describe(
  'cron schedules: plasmactl agrees with crontab(1)',
  {skip: (!has('crontab') || userInfo().uid !== 0) && 'needs cron and root'},
  () => {
    // crontab(1) checks every field before it installs; a throwaway user's crontab is the probe.
    const user = 'nobody'
    after(() => spawnSync('crontab', ['-u', user, '-r'], {stdio: 'ignore'}))
    test(`${CRONS.length} schedules`, () => {
      const disagree: string[] = []
      for (const schedule of CRONS) {
        const cron =
          spawnSync('crontab', ['-u', user, '-'], {input: `${schedule} true\n`, stdio: ['pipe', 'ignore', 'ignore']})
            .status === 0
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
  },
)

describe(
  'snapshot schedule files are accepted by systemd and keep `%` literal',
  {skip: !has('systemd-analyze') && 'systemd-analyze not installed'},
  () => {
    let dir: string
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'plasmactl-units-'))
    })
    after(() => rm(dir, {recursive: true, force: true}))

    test('systemd-analyze verify passes on the rendered service and timer (paths with %, spaces and quotes)', async () => {
      const ctx = {name: 'eu 100%', environment: 'production', nodes: []} as unknown as Context
      const files = await renderSchedule(
        {
          ctx,
          configPath: join(dir, 'conf 50%/config.yaml'),
          bin: '/bin/true',
          user: 'root',
          onCalendar: '*-*-* *:00/15:00',
          cron: '@hourly',
          metricsFile: join(dir, "m%i 'x'.prom"),
          logFile: join(dir, 'l%h.log'),
          cronDir: dir,
        },
        dir,
      )
      for (const f of files) await writeFile(f.path, f.content)
      const [service, timer, cron] = files
      const r = spawnSync('systemd-analyze', ['verify', service.path, timer.path], {encoding: 'utf8'})
      assert.equal(r.status, 0, r.stderr)
      // What systemd will pass to the program: `systemd-analyze` has no ExecStart dump offline, so
      // check the one rule that matters — no single `%` (a specifier) is left anywhere in the units.
      for (const f of [service, timer]) {
        const settings = f.content
          .split('\n')
          .filter((l) => !l.startsWith('#'))
          .join('\n')
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
      const base = {
        ctx,
        configPath: '/c.yaml',
        bin: '/bin/true',
        user: 'root',
        cron: '17 * * * *',
        metricsFile: '/m',
        logFile: '/l',
      }
      await assert.rejects(
        renderSchedule({...base, onCalendar: 'Mon..Fri 25:00'}, dir),
        /not a valid systemd calendar event/,
      )
      await assert.rejects(renderSchedule({...base, onCalendar: 'bogus'}, dir), /not a valid systemd calendar event/)
      await assert.rejects(
        renderSchedule({...base, onCalendar: 'hourly', cron: '0 25 * * *'}, dir),
        /hour "25" is out of range/,
      )
    })
  },
)

function member(name: string, leader: boolean): MemberHealth {
  return {
    name,
    id: `${name}-id`,
    endpoint: `http://127.0.0.1:2379`,
    reachable: true,
    healthy: true,
    leader,
    learner: false,
    raftTerm: 3,
    raftIndex: 100,
    appliedIndex: 100,
    lag: 0,
    dbSize: 20480,
    dbSizeInUse: 16384,
    version: '3.4.23',
    clusterId: 'c1',
    alarms: leader ? ['NOSPACE'] : [],
    latencyMs: 2,
    error: null,
  }
}

function report(): HealthReport {
  const cf: ChainfireHealth = {
    clusterId: 'c1',
    clusterIdAgrees: true,
    leader: 'n1',
    leaderId: 'n1-id',
    raftTerm: 3,
    revision: 42,
    quorum: true,
    voters: 3,
    votersHealthy: 3,
    quorumSize: 2,
    failureTolerance: 1,
    learners: 0,
    alarms: [],
    members: [member('n1', true), member('n2', false), member('n3', false)],
  }
  return {
    context: 'lab',
    environment: 'lab',
    status: 'ok',
    checkedAt: new Date().toISOString(),
    durationMs: 12,
    problems: [],
    components: [
      {component: 'chainfire', status: 'ok', details: cf} as unknown as HealthReport['components'][number],
      {component: 'flaredb', status: 'skipped'} as unknown as HealthReport['components'][number],
    ],
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
  for (const py of ['/usr/bin/python3', 'python3'])
    if (spawnSync(py, ['-c', 'import prometheus_client'], {stdio: 'ignore'}).status === 0) return py
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
      const families = new Set(
        text
          .split('\n')
          .filter((l) => l.startsWith('# TYPE '))
          .map((l) => l.split(' ')[2]),
      ).size
      assert.equal(out, `families=${families} samples=${samples} dups= untyped=`, name)
    }
  })
})

/** [config text, host as given]; FILE in a config is replaced by the test's temp dir. */
const SSH_CONFIGS: [string, string][] = [
  ['Host db?\n  HostName 10.0.0.1\nHost *\n  HostName 10.9.9.9\n', 'db1'],
  ['Host db?\n  HostName 10.0.0.1\nHost *\n  HostName 10.9.9.9\n', 'db'],
  ['Host db?\n  HostName 10.0.0.1\nHost *\n  HostName 10.9.9.9\n', 'db12'],
  ['Host *.prod !bastion.prod\n  User ops\n', 'web.prod'],
  ['Host *.prod !bastion.prod\n  User ops\n', 'bastion.prod'],
  ['Host WEB\n  Port 2201\n', 'web'],
  ['Host web\n  Port 2201\nMatch originalhost web\n  User u1\n', 'WEB'],
  ['Host a\n  Port 1\nHost a\n  Port 2\n', 'a'],
  ['Host a\n  IdentityFile /k1\nHost *\n  IdentityFile /k2\n  IdentityFile /k3\n', 'a'],
  ['Host x\n  HostName 127.0.53.%h\nMatch host 127.0.53.x\n  User matched\n', 'x'],
  ['Host x\n  HostName 127.0.53.%h\nMatch originalhost x\n  Port 2022\n', 'x'],
  ['Host x\n  user plasmalab\nMatch user plasmalab\n  Port 2200\n', 'x'],
  ['Host x\n  User Plasmalab\nMatch user plasmalab\n  Port 2200\n', 'x'],
  ['Match !originalhost other\n  Port 2300\n', 'mine'],
  ['Match !originalhost other\n  Port 2300\n', 'other'],
  ['Match exec "true"\n  User fromexec\n', 'h'],
  ['Match exec "false"\n  User fromexec\n', 'h'],
  ['Match exec "test %h = h2"\n  User yes\n', 'h2'],
  ['Match exec "test %h = h2"\n  User yes\n', 'h3'],
  ['Match host a,b !originalhost c\n  Port 2400\n', 'b'],
  ['Match all\n  Port 2500\n', 'any'],
  ['Match localuser LOCALUSER\n  Port 2600\n', 'any'],
  ['Host a\n  Include FILE/inc1\n  Port 2700\nHost b\n  Port 2800\n', 'a'],
  ['Host a\n  Include FILE/inc1\n  Port 2700\nHost b\n  Port 2800\n', 'b'],
  ['Include=FILE/inc1\nHost *\n  Port 2900\n', 'z'],
  ['Host a\n  Include FILE/inc2\nHost *\n  User after\n', 'a'],
  ['Host a\n  Include FILE/inc2\nHost *\n  User after\n', 'q'],
  ['Host j\n  ProxyJump ops@bastion:2222\n  ProxyCommand nc %h %p\n', 'j'],
  ['Host j\n  ProxyCommand ssh -W "%h:%p" gw\n  ProxyJump ops@bastion\n', 'j'],
  ['Host j\n  ProxyJump none\n', 'j'],
  ['Host k\n  UserKnownHostsFile ~/kh_%h ${HOME}/kh2 /etc/kh3\n  HostKeyAlias db-k\n  IdentitiesOnly yes\n', 'k'],
  ['Host k\n  UserKnownHostsFile=/a /b\n', 'k'],
  ['Host i\n  IdentityFile ~/.ssh/id_%n_%h\n  IdentityFile ${HOME}/second\n  IdentityFile "/with space/key"\n', 'i'],
  ['Host m\n  HostName real-%h\nMatch host real-m\n  HostName ignored\n  Port 3000\n', 'm'],
  ['Host f\n  Port 3100\nMatch final\n  User finaluser\n', 'f'],
  ['# comment\n\nHost   spaced   \n   Port   3200  \n', 'spaced'],
]

function sshG(file: string, host: string): Record<string, string[]> {
  const out = execFileSync('ssh', ['-G', '-F', file, host], {encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore']})
  const map: Record<string, string[]> = {}
  for (const line of out.split('\n')) {
    const i = line.indexOf(' ')
    if (i > 0) (map[line.slice(0, i)] ??= []).push(line.slice(i + 1))
  }
  return map
}

describe(
  'SSH client config: plasmactl resolves each host as `ssh -G` does',
  {skip: !has('ssh') && 'ssh not installed'},
  () => {
    let dir: string
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'plasmactl-sshg-'))
      await writeFile(join(dir, 'inc1'), 'User included\n')
      await writeFile(join(dir, 'inc2'), 'Host q\n  Port 3300\n')
    })
    after(() => rm(dir, {recursive: true, force: true}))

    test(`${SSH_CONFIGS.length} configs`, async () => {
      const {lookupSshHost, readSshConfig} = await import('../../src/adapters/ssh/ssh-config.js')
      const me = userInfo().username
      const disagree: string[] = []
      for (const [i, [text, host]] of SSH_CONFIGS.entries()) {
        const file = join(dir, `config-${i}`)
        await writeFile(file, text.replaceAll('FILE', dir).replaceAll('LOCALUSER', me))
        const g = sshG(file, host)
        const ours = lookupSshHost(readSshConfig(file), host)
        const jumpG = g.proxyjump?.[0]
        const compare: [string, unknown, unknown][] = [
          ['hostname', ours.hostName ?? host.toLowerCase(), g.hostname?.[0]],
          ['user', ours.user ?? me, g.user?.[0]],
          ['port', ours.port ?? 22, Number(g.port?.[0])],
          ['proxyjump', ours.proxyJump, jumpG],
          ['proxycommand', ours.proxyCommand, g.proxycommand?.[0]],
          ['hostkeyalias', ours.hostKeyAlias, g.hostkeyalias?.[0]],
          ['identitiesonly', ours.identitiesOnly, g.identitiesonly?.[0] === 'yes'],
          // ssh -G prints IdentityFile unexpanded (expansion is checked by a real login); the list and its order must agree.
          [
            'identityfile count',
            ours.identityFiles.length,
            (g.identityfile ?? []).filter(
              (f) => !/^~\/\.ssh\/id_(rsa|ecdsa|ecdsa_sk|ed25519|ed25519_sk|xmss|dsa)$/.test(f),
            ).length,
          ],
        ]
        if (ours.userKnownHostsFiles.length > 0)
          compare.push(['userknownhostsfile', ours.userKnownHostsFiles.join(' '), g.userknownhostsfile?.[0]])
        for (const [k, a, b] of compare)
          if (a !== b)
            disagree.push(
              `#${i} ${JSON.stringify(text)} ${host}: ${k} ours=${JSON.stringify(a)} ssh=${JSON.stringify(b)}`,
            )
      }
      assert.deepEqual(disagree, [])
    })
  },
)

/** A throwaway sshd with an ed25519 and an RSA host key, and client keys: the known_hosts and identity oracle. */
describe(
  'known_hosts and IdentityFile: plasmactl accepts and refuses exactly what ssh does',
  {skip: (!has('ssh') || !existsSync('/usr/sbin/sshd') || userInfo().uid !== 0) && 'needs ssh, sshd and root'},
  () => {
    let dir: string
    let sshd: ChildProcess
    const addr = `127.77.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`
    const port = 20_000 + Math.floor(Math.random() * 30_000)
    const pub = (f: string) => readFileSync(`${f}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ')
    const keygen = (f: string, type: string) =>
      execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', f, ...(type === 'rsa' ? ['-b', '2048'] : [])])

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'plasmactl-kh-'))
      for (const [f, t] of [
        ['host_ed25519', 'ed25519'],
        ['host_rsa', 'rsa'],
        ['stale_ed25519', 'ed25519'],
        ['ca', 'ed25519'],
        ['good', 'ed25519'],
        ['k_idt', 'ed25519'],
        ['wrong', 'ed25519'],
      ])
        keygen(join(dir, f), t)
      await writeFile(join(dir, 'authorized_keys'), `${pub(join(dir, 'good'))}\n${pub(join(dir, 'k_idt'))}\n`)
      await writeFile(
        join(dir, 'sshd_config'),
        [
          `Port ${port}`,
          `ListenAddress ${addr}`,
          `HostKey ${dir}/host_ed25519`,
          `HostKey ${dir}/host_rsa`,
          `PidFile ${dir}/sshd.pid`,
          `AuthorizedKeysFile ${dir}/authorized_keys`,
          'PasswordAuthentication no',
          'UsePAM no',
          'StrictModes no',
          'PermitRootLogin prohibit-password',
          'SetEnv SHLVL=1',
        ].join('\n') + '\n',
      )
      await mkdir('/run/sshd', {recursive: true})
      sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], {stdio: 'ignore'})
      for (
        let i = 0;
        i < 100 && spawnSync('bash', ['-c', `exec 3<>/dev/tcp/${addr}/${port}`], {stdio: 'ignore'}).status !== 0;
        i++
      )
        await new Promise((r) => setTimeout(r, 100))
    })
    after(async () => {
      sshd?.kill()
      await rm(dir, {recursive: true, force: true})
    })

    const sshOk = (knownHosts: string[], extra: string[] = []) =>
      spawnSync(
        'ssh',
        [
          '-F',
          '/dev/null',
          '-o',
          'BatchMode=yes',
          '-o',
          'StrictHostKeyChecking=yes',
          '-o',
          `UserKnownHostsFile=${knownHosts.join(' ')}`,
          '-o',
          'IdentitiesOnly=yes',
          '-i',
          join(dir, 'good'),
          '-p',
          String(port),
          ...extra,
          `root@${addr}`,
          'true',
        ],
        {stdio: 'ignore', timeout: 30_000},
      ).status === 0

    async function oursOk(knownHosts: string[]): Promise<{ok: boolean; why?: string}> {
      const {SshClient} = await import('../../src/adapters/ssh/index.js')
      try {
        const c = await SshClient.connect({
          host: addr,
          port,
          username: 'root',
          identityFile: join(dir, 'good'),
          knownHostsFile: knownHosts[0],
          extraKnownHostsFiles: knownHosts.slice(1),
          connectTimeoutMs: 10_000,
        })
        await c.close()
        return {ok: true}
      } catch (error) {
        return {ok: false, why: (error as Error).message}
      }
    }

    test('known_hosts cases', async () => {
      const real = pub(join(dir, 'host_ed25519'))
      const rsa = pub(join(dir, 'host_rsa'))
      const stale = pub(join(dir, 'stale_ed25519'))
      const name = `[${addr}]:${port}`
      const hashed = execFileSync(
        'sh',
        [
          '-c',
          `printf '%s %s\\n' '${name}' '${real}' > ${dir}/h && ssh-keygen -q -H -f ${dir}/h >/dev/null 2>&1 && grep -v '^#' ${dir}/h`,
        ],
        {encoding: 'utf8'},
      ).trim()
      const cases: [string, string[]][] = [
        ['exact [host]:port', [`${name} ${real}`]],
        ['bare host for a non-22 port', [`${addr} ${real}`]],
        ['bare host, stale key', [`${addr} ${stale}`]],
        ['key only in the second UserKnownHostsFile', ['', `${name} ${real}`]],
        ['stale ed25519 listed before a good RSA key', [`${name} ${stale}\n${name} ${rsa}`]],
        ['good RSA key listed before a stale ed25519', [`${name} ${rsa}\n${name} ${stale}`]],
        ['only the RSA key', [`${name} ${rsa}`]],
        ['hashed entry', [hashed]],
        ['stale key only', [`${name} ${stale}`]],
        ['revoked real key', [`@revoked ${name} ${real}\n${name} ${real}`]],
        ['@cert-authority only', [`@cert-authority * ${pub(join(dir, 'ca'))}`]],
        ['negated pattern', [`*,!${addr} ${real}`]],
      ]
      const disagree: string[] = []
      for (const [i, [label, files]] of cases.entries()) {
        const paths = await Promise.all(
          files.map(async (text, j) => {
            const p = join(dir, `kh-${i}-${j}`)
            await writeFile(p, text ? `${text}\n` : '')
            return p
          }),
        )
        const ssh = sshOk(paths)
        const ours = await oursOk(paths)
        if (ssh !== ours.ok)
          disagree.push(
            `${label}: ssh ${ssh ? 'connects' : 'refuses'}, plasmactl ${ours.ok ? 'connects' : `refuses (${ours.why})`}`,
          )
        if (label.startsWith('@cert-authority')) assert.match(ours.why ?? '', /does not check host certificates/)
      }
      assert.deepEqual(disagree, [])
    })

    test('IdentityFile: %n and ${ENV} expanded, several files tried in order until one is accepted', async () => {
      const {lookupSshHost, readSshConfig} = await import('../../src/adapters/ssh/ssh-config.js')
      const {SshClient} = await import('../../src/adapters/ssh/index.js')
      process.env.PLASMACTL_TEST_KEYS = dir
      const cfg = join(dir, 'ssh_config')
      await writeFile(join(dir, 'known'), `[${addr}]:${port} ${pub(join(dir, 'host_ed25519'))}\n`)
      await writeFile(
        cfg,
        `Host idt\n  HostName ${addr}\n  Port ${port}\n  User root\n  IdentitiesOnly yes\n  UserKnownHostsFile ${dir}/known\n  IdentityFile \${PLASMACTL_TEST_KEYS}/wrong\n  IdentityFile \${PLASMACTL_TEST_KEYS}/k_%n\n`,
      )
      const ssh =
        spawnSync('ssh', ['-F', cfg, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', 'idt', 'true'], {
          stdio: 'ignore',
          env: {...process.env, SSH_AUTH_SOCK: ''},
        }).status === 0
      assert.ok(ssh, 'ssh itself logs in with this config')
      const h = lookupSshHost(readSshConfig(cfg), 'idt')
      assert.deepEqual(h.identityFiles, [join(dir, 'wrong'), join(dir, 'k_idt')])
      const c = await SshClient.connect({
        host: h.hostName!,
        port: h.port,
        username: h.user!,
        identityFile: h.identityFiles[0],
        extraIdentityFiles: h.identityFiles.slice(1),
        knownHostsFile: h.userKnownHostsFiles[0],
      })
      assert.equal((await c.exec('echo ok')).stdout.trim(), 'ok')
      await c.close()
    })
  },
)

describe('snapshot schedule through the real binary', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plasmactl-sched-cli-'))
    await writeFile(
      join(dir, 'config.yaml'),
      'apiVersion: plasmactl/v1\ncurrent-context: t\ncontexts:\n  - name: t\n    environment: staging\n    nodes:\n      - {name: n1, address: 127.0.0.1, roles: [chainfire]}\n',
    )
  })
  after(() => rm(dir, {recursive: true, force: true}))

  test('a bad calendar or cron is exit 2 and writes nothing; a good one writes units systemd accepts and a dotless cron file', async () => {
    const {runCli} = await import('../helpers/lab.js')
    const env = {PLASMACTL_CONFIG: join(dir, 'config.yaml'), PLASMACTL_STATE_DIR: join(dir, 'state')}
    const out = join(dir, 'out')
    for (const bad of [
      ['--on-calendar', 'Mon..Fri 25:00'],
      ['--on-calendar', 'bogus'],
      ['--cron', '61 * * * *'],
      ['--cron', '0 0 * * 8'],
    ]) {
      const r = await runCli(
        ['snapshot', 'schedule', 'install', '--dir', out, '--cron-dir', out, ...bad, '--json'],
        env,
      )
      assert.equal(r.exitCode, 2, `${bad.join(' ')}: ${r.stdout}${r.stderr}`)
      assert.equal(existsSync(out), false, 'nothing written')
    }
    const ok = await runCli(
      [
        'snapshot',
        'schedule',
        'install',
        '--dir',
        out,
        '--cron-dir',
        out,
        '--on-calendar',
        'Mon..Fri *:00/15',
        '--cron',
        '@hourly',
        '--json',
      ],
      env,
    )
    assert.equal(ok.exitCode, 0, ok.stdout + ok.stderr)
    const paths: string[] = ok.json.data.files.map((f: {path: string}) => f.path)
    assert.deepEqual(
      paths.map((p) => p.slice(out.length + 1)),
      ['plasmactl-snapshot-t.service', 'plasmactl-snapshot-t.timer', 'plasmactl-snapshot-t'],
    )
    if (has('systemd-analyze')) {
      const r = spawnSync('systemd-analyze', ['verify', paths[0], paths[1]], {encoding: 'utf8'})
      // The ExecStart program is this repository's bin/run.js: present, so verify checks everything else.
      assert.equal(r.status, 0, r.stderr)
    }
  })
})
