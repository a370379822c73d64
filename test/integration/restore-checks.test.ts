import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ChainfireClient} from '../../src/adapters/chainfire/index.js'
import {type Lab, startLab} from '../helpers/lab.js'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('snapshot restore checks what it restores onto (real 3-node lab)', () => {
  let lab: Lab
  let client: ChainfireClient
  let env: Record<string, string>
  const cli: Lab['cli'] = (args, o = {}) => lab.cli(args, {...o, env: {...env, ...o.env}})
  const newClient = () => new ChainfireClient({endpoints: lab.nodes.map((n) => ({name: n.name, url: n.clientUrl}))})
  let snap: {name: string; manifest: {revision: number; keyCount: number; clusterId: string}}

  before(async () => {
    lab = await startLab({nodes: 3})
    env = {PLASMACTL_STATE_DIR: join(lab.dir, '..', 'state')}
    client = newClient()
    for (let i = 0; i < 50; i++) await client.put(`/data/k${i}`, `v${i}`)
    const s = await cli(['snapshot', 'save', '--json'])
    assert.equal(s.exitCode, 0, s.stderr + s.stdout)
    snap = s.json.data
  })

  after(async () => {
    client?.close()
    await lab?.stop()
  })

  it('list shows the cluster id; inspect says which keys it counts', async () => {
    const list = await cli(['snapshot', 'list'])
    assert.equal(list.exitCode, 0, list.stderr)
    assert.match(list.stdout, /CLUSTER/)
    assert.match(list.stdout, new RegExp(`${snap.name}.*${snap.manifest.clusterId}`))
    const inspect = await cli(['snapshot', 'inspect', snap.name])
    assert.match(inspect.stdout, /keys\s+50: keys live at the snapshot's revision/)
  })

  it('a client writing during the restore does not fail the verification: keys are counted at the restored revision', async (t) => {
    let stop = false
    let acked = 0
    // Its own client, replaced after a failure so that it reconnects as soon as a member is back.
    const writer = (async () => {
      let c = newClient()
      for (let i = 0; !stop; i++) {
        const ok = await c.put(`/during-restore/${i}`, 'x').then(
          () => true,
          () => false,
        )
        if (ok) acked++
        else {
          c.close()
          c = newClient()
        }
        await sleep(10)
      }
      c.close()
    })()
    const r = await cli(['snapshot', 'restore', snap.name, '--yes', '--json'])
    stop = true
    await writer
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    const v = r.json.data.verified
    t.diagnostic(
      `verified ${v.keyCount} keys at revision ${snap.manifest.revision}; ${v.liveKeyCount} live when checked; ${acked} writes acknowledged during the run`,
    )
    assert.equal(v.keyCount, snap.manifest.keyCount)
    assert.ok(
      r.json.data.plan.warnings.some((w: string) => /the live cluster is healthy/.test(w)),
      JSON.stringify(r.json.data.plan.warnings),
    )
  })

  it('a snapshot of another cluster is refused (exit 6) without --force cluster-mismatch; the plan shows the revision gap', async () => {
    // The restore above made a new cluster (new cluster id): the snapshot now belongs to another one.
    client.close()
    client = newClient()
    const live = (await client.status({name: 'n1', url: lab.nodes[0].clientUrl})).header
    assert.notEqual(live.clusterId, snap.manifest.clusterId)
    for (const args of [['--dry-run'], ['--yes']]) {
      const r = await cli(['snapshot', 'restore', snap.name, ...args, '--json'])
      assert.equal(r.exitCode, 6, r.stderr + r.stdout)
      assert.match(
        r.json.error.message,
        new RegExp(`was taken from cluster ${snap.manifest.clusterId}, but the live cluster is ${live.clusterId}`),
      )
    }
    assert.equal(
      (await client.status({name: 'n1', url: lab.nodes[0].clientUrl})).header.clusterId,
      live.clusterId,
      'nothing was restored',
    )
    await client.put('/after/one-more', 'x')
    const forced = await cli(['snapshot', 'restore', snap.name, '--force', 'cluster-mismatch', '--yes', '--json'])
    assert.equal(forced.exitCode, 0, forced.stderr + forced.stdout)
    const warnings: string[] = forced.json.data.plan.warnings
    assert.ok(
      warnings.some((w) => /--force cluster-mismatch/.test(w)),
      warnings.join('\n'),
    )
    assert.ok(
      warnings.some((w) =>
        new RegExp(
          `the live data is at revision \\d+, the snapshot at ${snap.manifest.revision}: restoring loses the last \\d+ revisions`,
        ).test(w),
      ),
      warnings.join('\n'),
    )
  })
})
