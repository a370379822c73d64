import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ChainfireClient} from '../../src/adapters/chainfire/index.js'
import {waitForExit} from '../../src/adapters/exec/processes.js'
import {loadConfig, selectContext} from '../../src/config/load.js'
import {flaredbRemovalCheck} from '../../src/services/flaredb/index.js'
import {eventually, exitOf, type Lab, REPO_ROOT, startLab} from '../helpers/lab.js'

interface StoreJson {
  id: string
  stale: boolean
  live: boolean
  health: string
}
interface RegionJson {
  id: string
  status: string
  liveReplicas: string[]
}

describe('FlareDB: real store processes (gRPC health + heartbeats) and placement in real etcd', () => {
  let lab: Lab
  let client: ChainfireClient
  let extraStore: ChildProcess | undefined
  const status = () => lab.cli(['flaredb', 'status', '--timeout', '500ms', '--json'])
  const storePid = async (node: string) =>
    Number((await readFile(join(lab.dir, 'nodes', node, 'flaredb', 'store.pid'), 'utf8')).trim())
  const context = async () => {
    const loaded = await loadConfig(lab.configPath)
    return {loaded, ctx: selectContext(loaded)}
  }

  before(async () => {
    lab = await startLab({nodes: 3, args: ['--with', 'flaredb', '--flaredb-heartbeat', '1s']})
    client = new ChainfireClient({endpoints: lab.nodes.map((n) => ({name: n.name, url: n.clientUrl}))})
  })
  after(async () => {
    extraStore?.kill('SIGKILL')
    client?.close()
    await lab?.stop()
  })

  it('reports every store live and every region fully replicated', async () => {
    const r = await status()
    assert.equal(r.exitCode, 0, r.stdout + r.stderr)
    const d = r.json.data.details
    assert.deepEqual(
      d.stores.map((s: StoreJson) => [s.id, s.live, s.health]),
      [
        ['1', true, 'SERVING'],
        ['2', true, 'SERVING'],
        ['3', true, 'SERVING'],
      ],
    )
    assert.equal(d.regions.length, 4)
    assert.ok(d.regions.every((x: RegionJson) => x.status === 'ok' && x.liveReplicas.length === 3))
    assert.equal(d.staleAfterMs, 3000)
  })

  it('a malformed record is reported by its key and hides nothing else', async () => {
    await client.put('/flaredb/stores/9', '{"id": "9", "address": ')
    await client.put('/flaredb/stores/8', JSON.stringify({id: '8', state: 'up'}))
    await client.put('/flaredb/regions/7', JSON.stringify({id: '7'}))
    await client.put('/flaredb/regions/6', '[1,2,3]')
    try {
      const r = await status()
      assert.equal(r.exitCode, 4, r.stdout + r.stderr)
      const d = r.json.data.details
      assert.deepEqual(
        d.invalid.map((i: {key: string}) => i.key),
        ['/flaredb/regions/6', '/flaredb/regions/7', '/flaredb/stores/8', '/flaredb/stores/9'],
      )
      assert.match(d.invalid.find((i: {key: string}) => i.key === '/flaredb/stores/9').error, /not JSON/)
      assert.match(
        d.invalid.find((i: {key: string}) => i.key === '/flaredb/stores/8').error,
        /missing .*address.*lastHeartbeat/,
      )
      assert.match(d.invalid.find((i: {key: string}) => i.key === '/flaredb/regions/7').error, /replicas/)
      assert.equal(d.stores.length, 3, 'the valid stores are still reported')
      assert.equal(d.regions.length, 4, 'the valid regions are still reported')
      assert.ok(
        r.json.data.findings.some((f: {message: string}) => f.message.startsWith('invalid record /flaredb/stores/9')),
      )
      const h = await lab.cli(['health', '--json'])
      const names = h.json.data.components.map((c: {component: string; status: string}) => `${c.component}:${c.status}`)
      assert.ok(names.includes('flaredb:warn') && names.includes('chainfire:ok'), names.join(' '))
    } finally {
      for (const k of ['/flaredb/stores/9', '/flaredb/stores/8', '/flaredb/regions/7', '/flaredb/regions/6'])
        await client.deletePrefix(k)
    }
  })

  it('a store that stops heartbeating is stale and its regions are under-replicated (warn)', async () => {
    const pid = await storePid('n3')
    process.kill(pid, 'SIGSTOP')
    try {
      const r = await eventually(
        async () => {
          const x = await status()
          return x.json?.data?.details?.stores?.find((s: StoreJson) => s.id === '3')?.stale ? x : undefined
        },
        20_000,
        'store 3 stale',
      )
      assert.equal(r.exitCode, 4)
      const d = r.json.data.details
      assert.equal(d.stores.find((s: StoreJson) => s.id === '3').live, false)
      assert.ok(
        d.regions.every((x: RegionJson) => x.status === 'warn' && x.liveReplicas.length === 2),
        JSON.stringify(d.regions),
      )
      assert.ok(r.json.data.findings.some((f: {message: string}) => /store 3 \(n3.*heartbeat is stale/.test(f.message)))
      assert.ok(
        r.json.data.findings.some((f: {message: string}) =>
          /region 1 is under-replicated: 2 live replicas, 3 needed/.test(f.message),
        ),
      )
    } finally {
      process.kill(pid, 'SIGCONT')
    }
    await eventually(async () => (await status()).exitCode === 0, 20_000, 'FlareDB healthy after SIGCONT')
  })

  it('removal preflight refuses a node whose removal leaves a region under 3 live replicas', async () => {
    const {loaded, ctx} = await context()
    const refused = await flaredbRemovalCheck(ctx, 'n1', {loaded})
    assert.equal(refused.allowed, false)
    assert.deepEqual(refused.stores, ['1'])
    assert.equal(refused.blocking.length, 4)
    assert.match(refused.reasons[0], /region \d would have 2 live replicas/)
    // The same check is registered in `node remove`'s preflight: refused with exit 6, nothing changed.
    const cli = await lab.cli(['node', 'remove', 'n1', '--dry-run'])
    assert.equal(cli.exitCode, 6, cli.stderr + cli.stdout)
    assert.match(cli.stderr + cli.stdout, /FlareDB region \d would have 2 live replicas/)

    // A fourth real store; region 1 gets four replicas, region 2 lives on stores 2, 3, 4 only.
    const address = `${lab.addressPrefix}.4:20160`
    const pidFile = join(lab.dir, 'store4.pid')
    extraStore = spawn(process.execPath, [join(REPO_ROOT, 'templates', 'lab', 'flaredb-store.mjs')], {
      env: {
        ...process.env,
        STORE_ID: '4',
        STORE_NODE: 'extra',
        STORE_LISTEN: address,
        CHAINFIRE_URLS: lab.nodes.map((n) => n.clientUrl).join(','),
        HEARTBEAT_MS: '1000',
        PID_FILE: pidFile,
      },
      stdio: 'ignore',
    })
    await eventually(() => readFile(pidFile, 'utf8').catch(() => undefined), 20_000, 'store 4 serving')
    await client.deletePrefix('/flaredb/regions/')
    await client.put('/flaredb/regions/1', JSON.stringify({id: '1', replicas: ['1', '2', '3', '4']}))
    await client.put('/flaredb/regions/2', JSON.stringify({id: '2', replicas: ['2', '3', '4']}))
    const allowed = await flaredbRemovalCheck(ctx, 'n1', {loaded})
    assert.equal(allowed.allowed, true, allowed.reasons.join('; '))
    const stillRefused = await flaredbRemovalCheck(ctx, 'n2', {loaded})
    assert.equal(stillRefused.allowed, false)
    assert.deepEqual(
      stillRefused.blocking.map((b) => b.region),
      ['2'],
    )

    extraStore.kill('SIGTERM')
    await exitOf(extraStore, 30_000)
    extraStore = undefined
    // Store 4 is down now: region 1 keeps 3 live replicas, region 2 has 2 (warn); removing n1 leaves region 1 with 2.
    const r = await status()
    assert.equal(r.json.data.details.regions.find((x: RegionJson) => x.id === '2').status, 'warn')
    assert.equal((await flaredbRemovalCheck(ctx, 'n1', {loaded})).allowed, false)
  })

  it('a region that lost a majority of its replicas is critical', async () => {
    await client.deletePrefix('/flaredb/regions/')
    await client.put('/flaredb/regions/1', JSON.stringify({id: '1', replicas: ['1', '2', '3']}))
    for (const n of ['n2', 'n3']) {
      const pid = await storePid(n)
      process.kill(pid, 'SIGKILL')
      assert.ok(await waitForExit(pid, 10_000))
    }
    const r = await status()
    assert.equal(r.exitCode, 5, r.stdout)
    const region = r.json.data.details.regions[0]
    assert.equal(region.status, 'crit')
    assert.deepEqual(region.liveReplicas, ['1'])
    assert.ok(
      r.json.data.findings.some(
        (f: {status: string; message: string}) => f.status === 'crit' && /region 1 lost a majority/.test(f.message),
      ),
    )
    const h = await lab.cli(['health', '--json'])
    assert.equal(h.exitCode, 5)
    assert.equal(h.json.data.components.find((c: {component: string}) => c.component === 'chainfire').status, 'ok')
  })
})
