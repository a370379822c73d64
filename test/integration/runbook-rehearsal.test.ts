/**
 * Shipped runbooks run as shipped: each one lints and dry-runs clean, and is rehearsed against one
 * lab with every component (ChainFire, QEMU VMs, clustered OVN NB DB, FlareDB stores): break what
 * it recovers, run it unattended, see it healthy. (The component drills, which recover with the same runbooks,
 * run on a lab of their own in drill-components.test.ts.) Runs name the lab context with --context while
 * the current context is another one, as an operator switching clusters would.
 * (chainfire/replace-node and chainfire/quorum-loss-recovery are rehearsed in runbook.test.ts.)
 */
import assert from 'node:assert/strict'
import {mkdir, readdir, readFile, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parse as parseYaml, stringify} from 'yaml'
import {run} from '../../src/adapters/exec/run.js'
import {isRunning, waitForExit} from '../../src/adapters/exec/processes.js'
import {eventually, REPO_ROOT, startLab, type Lab} from '../helpers/lab.js'

const SAMPLE_PARAMS: Record<string, string> = {node: 'n2', host: 'n3', vm: 'vm-n1-01'}

describe('shipped runbooks rehearsed against a lab with every component', () => {
  let lab: Lab
  let work: string
  let env: Record<string, string>
  /** The CLI on the lab context (selected by environment). */
  const cli = (args: string[], extra: Record<string, string> = {}) =>
    lab.cli(args, {env: {...env, PLASMACTL_CONTEXT: 'lab', ...extra}})
  /** `runbook run NAME --context lab --yes`: the current context is another cluster. */
  const runbook = async (name: string, params: Record<string, string> = {}, ...extra: string[]) => {
    const r = await lab.cli(
      [
        'runbook',
        'run',
        name,
        '--context',
        'lab',
        '--yes',
        ...Object.entries(params).flatMap(([k, v]) => ['--param', `${k}=${v}`]),
        ...extra,
      ],
      {env},
    )
    assert.equal(r.exitCode, 0, `${name}: ${r.stdout}${r.stderr}`)
    return r
  }
  const pidOf = async (file: string) => Number((await readFile(file, 'utf8')).trim())
  const nodeFile = (node: string, ...p: string[]) => join(lab.dir, 'nodes', node, ...p)
  const killByPidFile = async (file: string) => {
    const pid = await pidOf(file)
    process.kill(pid, 'SIGKILL')
    assert.ok(await waitForExit(pid, 10_000), `${file}: pid ${pid} survived SIGKILL`)
    return pid
  }
  const healthy = async (component: string) => {
    const h = await cli(['health', '--json'])
    return h.json?.data?.components?.find((c: {component: string}) => c.component === component)?.status
  }

  before(async () => {
    lab = await startLab({nodes: 3, args: ['--with', 'vm,ovn,flaredb,iam', '--flaredb-heartbeat', '1s']})
    work = join(lab.dir, '..', 'rehearsal')
    await mkdir(work, {recursive: true})
    env = {PLASMACTL_STATE_DIR: join(work, 'state')}
    // The current context is another cluster (unreachable): every run must act on the one it names.
    const cfg = parseYaml(await readFile(lab.configPath, 'utf8'))
    const other = structuredClone(cfg.contexts.find((c: {name: string}) => c.name === 'lab'))
    other.name = 'elsewhere'
    delete other.lab
    for (const n of other.nodes) n.address = '127.0.0.254'
    cfg.contexts.push(other)
    cfg['current-context'] = 'elsewhere'
    await writeFile(lab.configPath, stringify(cfg))
  })
  after(async () => {
    await lab?.stop()
  })

  it('every shipped runbook lints clean, is listed as such, and dry-runs clean', async () => {
    const lint = await cli(['runbook', 'lint', '--json'])
    assert.equal(lint.exitCode, 0, lint.stdout + lint.stderr)
    const list = await cli(['runbook', 'list', '--json'])
    assert.equal(list.exitCode, 0, list.stderr)
    // The shipped runbooks: those of the repository's runbooks/, wherever the CLI reads them from
    // (the package root, or the single executable's extracted files).
    const inRepo = (await readdir(join(REPO_ROOT, 'runbooks'), {recursive: true}))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.replace(/\.yaml$/, ''))
    const shipped = list.json.data.runbooks.filter(
      (r: {name: string; file: string}) => inRepo.includes(r.name) && r.file.endsWith(`/runbooks/${r.name}.yaml`),
    )
    assert.equal(shipped.length, inRepo.length, `every runbook of runbooks/ is listed: ${inRepo.join(' ')}`)
    const names = shipped.map((r: {name: string}) => r.name)
    for (const n of [
      'prismnet/ovn-db-recovery',
      'flaredb/store-restart',
      'chainfire/restart-node',
      'plasmavmc/vm-crash-restart',
    ])
      assert.ok(names.includes(n), names.join(' '))
    for (const r of shipped) assert.equal(r.lintErrors, 0, r.name)
    // Dry runs change nothing: all at once.
    const dryRuns = await Promise.all(
      (shipped as {name: string; params: string[]}[]).map(async (r) => {
        const params = r.params.filter((p) => SAMPLE_PARAMS[p]).flatMap((p) => ['--param', `${p}=${SAMPLE_PARAMS[p]}`])
        return {
          name: r.name,
          dry: await lab.cli(['runbook', 'run', r.name, '--context', 'lab', '--dry-run', '--json', ...params], {env}),
        }
      }),
    )
    for (const {name, dry} of dryRuns) {
      assert.equal(dry.exitCode, 0, `${name}: ${dry.stdout}${dry.stderr}`)
      assert.equal(dry.json.data.status, 'planned', name)
    }
  })

  it('runbook list marks a runbook that does not lint', async () => {
    const dir = join(work, 'runbooks')
    await mkdir(dir, {recursive: true})
    await writeFile(
      join(dir, 'broken.yaml'),
      'apiVersion: plasmactl/v1\nkind: Runbook\nmetadata:\n  name: broken\nsteps:\n  - id: a\n    kind: local\n    command: echo hi\n    allow-failure: true\n',
    )
    const extra = {PLASMACTL_RUNBOOK_PATH: dir}
    const json = await cli(['runbook', 'list', '--json'], extra)
    const broken = json.json.data.runbooks.find((r: {name: string}) => r.name === 'broken')
    assert.equal(broken.lintErrors, 1)
    const table = await cli(['runbook', 'list'], extra)
    assert.match(table.stdout, /^broken\s+-\s+FAILS \(1 error\)/m)
    assert.match(table.stdout, /^prismnet\/ovn-db-recovery\s+\S+\s+ok\s/m)
    assert.match(table.stderr, /broken does not lint/)
  })

  it('chainfire/restart-node brings a killed member back', async () => {
    await lab.killMember('n2')
    await runbook('chainfire/restart-node', {node: 'n2'})
    assert.ok(await lab.memberPid('n2'))
    assert.equal(await healthy('chainfire'), 'ok')
  })

  it('chainfire/rolling-restart restarts every member once and leaves the cluster healthy', async () => {
    const before = await Promise.all(lab.nodes.map((n) => lab.memberPid(n.name)))
    await runbook('chainfire/rolling-restart')
    const now = await Promise.all(lab.nodes.map((n) => lab.memberPid(n.name)))
    for (const [i, pid] of now.entries())
      assert.ok(pid && pid !== before[i], `${lab.nodes[i].name}: ${before[i]} -> ${pid}`)
    assert.equal(await healthy('chainfire'), 'ok')
  })

  it('chainfire/defrag and chainfire/defrag-member run and leave the cluster healthy', async () => {
    await runbook('chainfire/defrag')
    await runbook('chainfire/defrag-member', {node: 'n3'})
    assert.equal(await healthy('chainfire'), 'ok')
  })

  it('plasmavmc/vm-crash-restart brings a killed QEMU back', async () => {
    const old = await killByPidFile(nodeFile('n2', 'vm', 'vm-n2-01.pid'))
    assert.equal((await cli(['vm', 'check'])).exitCode, 5)
    await runbook('plasmavmc/vm-crash-restart', {vm: 'vm-n2-01'})
    const pid = await pidOf(nodeFile('n2', 'vm', 'vm-n2-01.pid'))
    assert.ok(pid !== old && (await isRunning(pid)))
    assert.equal((await cli(['vm', 'check'])).exitCode, 0)
  })

  it('plasmavmc/reconcile-orphans stops a QEMU no record accounts for', async () => {
    const sock = nodeFile('n2', 'vm', 'stray.qmp')
    const pidFile = nodeFile('n2', 'vm', 'stray.pid')
    const started = await lab.sshExec(
      'n2',
      `qemu-system-x86_64 -machine none -nodefaults -nographic -display none -qmp unix:${sock},server=on,wait=off -daemonize -pidfile ${pidFile}`,
    )
    assert.equal(started.exitCode, 0, started.stderr)
    const pid = await pidOf(pidFile)
    assert.equal((await cli(['vm', 'check'])).exitCode, 4)
    await runbook('plasmavmc/reconcile-orphans')
    assert.ok(await waitForExit(pid, 10_000))
    assert.equal((await cli(['vm', 'check'])).exitCode, 0)
  })

  it('plasmavmc/host-failure restarts the relocatable VMs of a failed host elsewhere', async () => {
    const agent = nodeFile('n3', 'bin', 'plasmavmc')
    assert.equal((await lab.sshExec('n3', `${agent} plasmavmc stop`)).exitCode, 0)
    try {
      await runbook('plasmavmc/host-failure', {host: 'n3'}, '--allow-manual')
      const vms = (await cli(['vm', 'check', '--json'])).json.data.vms
      const moved = vms.find((v: {id: string}) => v.id === 'vm-n3-01')
      assert.notEqual(moved.host, 'n3')
      assert.equal(moved.observed, 'running')
    } finally {
      await lab.sshExec('n3', `${agent} plasmavmc start`)
    }
    assert.equal((await cli(['vm', 'check'])).exitCode, 0)
  })

  it('flaredb/store-restart brings a killed store back: live, heartbeating, regions replicated', async () => {
    await killByPidFile(nodeFile('n2', 'flaredb', 'store.pid'))
    await eventually(
      async () => (await cli(['flaredb', 'status', '--timeout', '500ms'])).exitCode !== 0,
      20_000,
      'store n2 reported down',
    )
    await runbook('flaredb/store-restart', {node: 'n2'})
    assert.equal((await cli(['flaredb', 'status'])).exitCode, 0)
  })

  const nb = (node: string) => `tcp:${lab.nodes.find((n) => n.name === node)!.address}:6641`
  const raft = (node: string) => `tcp:${lab.nodes.find((n) => n.name === node)!.address}:6643`
  const nbctl = (node: string, ...args: string[]) =>
    run('ovn-nbctl', ['--no-leader-only', `--db=${nb(node)}`, ...args], {timeoutMs: 20_000})

  it('prismnet/ovn-db-recovery restarts a killed OVN NB member', async () => {
    await killByPidFile(nodeFile('n2', 'ovn', 'nb.pid'))
    assert.equal((await cli(['prismnet', 'status'])).exitCode, 4)
    await runbook('prismnet/ovn-db-recovery', {node: 'n2'})
    assert.equal((await cli(['prismnet', 'status'])).exitCode, 0)
  })

  it('prismnet/ovn-db-recovery rejoin=true replaces a damaged member database from the survivors, keeping the damaged file', async () => {
    const add = await run(
      'ovn-nbctl',
      [
        `--db=${lab.nodes
          .slice(0, 3)
          .map((n) => nb(n.name))
          .join(',')}`,
        'ls-add',
        'rehearsal-sw',
      ],
      {timeoutMs: 20_000},
    )
    assert.equal(add.exitCode, 0, add.stderr)
    const db = nodeFile('n3', 'ovn', 'nb.db')
    await killByPidFile(nodeFile('n3', 'ovn', 'nb.pid'))
    await writeFile(db, 'not an ovsdb file\n')
    // A restart is not enough: the member does not come up with a damaged file.
    const restart = await lab.sshExec('n3', `${nodeFile('n3', 'bin', 'ovn-nb')} start`)
    assert.notEqual(restart.exitCode, 0, restart.stdout)
    const r = await runbook('prismnet/ovn-db-recovery', {
      node: 'n3',
      rejoin: 'true',
      peers: `${raft('n1')},${raft('n2')}`,
      db_file: db,
      ctl: nodeFile('n3', 'ovn', 'nb.ctl'),
    })
    assert.match(r.stderr, /removed old server [0-9a-f]+/)
    assert.equal((await cli(['prismnet', 'status'])).exitCode, 0)
    // The damaged file is kept, the member holds the data again, the cluster has three servers.
    const moved = /moved aside: (\S+)/.exec(r.stderr)?.[1]
    assert.ok(moved && (await stat(moved)).isFile(), r.stderr)
    assert.equal(await readFile(moved, 'utf8'), 'not an ovsdb file\n')
    await eventually(
      async () => (await nbctl('n3', 'ls-list')).stdout.includes('rehearsal-sw'),
      20_000,
      'n3 serves the data',
    )
    const status = await lab.sshExec(
      'n1',
      `ovn-appctl -t ${nodeFile('n1', 'ovn', 'nb.ctl')} cluster/status OVN_Northbound`,
    )
    const servers = status.stdout.split('\n').filter((l) => / at tcp:/.test(l))
    assert.equal(servers.length, 3, status.stdout)
  })
})
