import assert from 'node:assert/strict'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {waitForExit} from '../../src/adapters/exec/processes.js'
import {eventually, type Lab, startLab} from '../helpers/lab.js'

describe('PrismNet: a real clustered OVN Northbound DB (ovsdb-server x3)', () => {
  let lab: Lab
  const status = async () => lab.cli(['prismnet', 'status', '--json'])
  const nbPid = async (node: string) =>
    Number((await readFile(join(lab.dir, 'nodes', node, 'ovn', 'nb.pid'), 'utf8')).trim())
  const kill = async (node: string) => {
    const pid = await nbPid(node)
    process.kill(pid, 'SIGKILL')
    assert.ok(await waitForExit(pid, 10_000), `ovsdb-server on ${node} survived SIGKILL`)
  }

  before(async () => {
    lab = await startLab({nodes: 3, args: ['--with', 'ovn']})
  })
  after(async () => {
    await lab?.stop()
  })

  it('reports the cluster: a leader, every member connected, same cluster id', async () => {
    const r = await status()
    assert.equal(r.exitCode, 0, r.stdout + r.stderr)
    const nb = r.json.data.details.nb
    assert.equal(nb.db, 'OVN_Northbound')
    assert.equal(nb.model, 'clustered')
    assert.equal(nb.members.length, 3)
    assert.ok(nb.members.every((m: {reachable: boolean; connected: boolean}) => m.reachable && m.connected))
    assert.equal(nb.members.filter((m: {leader: boolean}) => m.leader).length, 1)
    assert.ok(nb.clusterId && nb.clusterIdAgrees)
    assert.deepEqual(
      nb.members.map((m: {name: string}) => m.name),
      ['n1', 'n2', 'n3'],
    )
    const h = await lab.cli(['health', '--json'])
    const p = h.json.data.components.find((c: {component: string}) => c.component === 'prismnet')
    assert.equal(p.status, 'ok')
  })

  it('kill the leader: a new leader is reported and the dead member is named', async () => {
    const before = (await status()).json.data.details.nb.leader as string
    await kill(before)
    const r = await eventually(
      async () => {
        const x = await status()
        const nb = x.json?.data?.details?.nb
        return nb?.leader && nb.leader !== before ? x : undefined
      },
      30_000,
      'a new OVN NB leader',
    )
    assert.equal(r.exitCode, 4, 'one member down is a warning')
    assert.equal(r.json.data.status, 'warn')
    const dead = r.json.data.details.nb.members.find((m: {name: string}) => m.name === before)
    assert.equal(dead.reachable, false)
    assert.match(dead.error, /refused/)
    assert.ok(
      r.json.data.findings.some(
        (f: {message: string; status: string}) => f.status === 'warn' && f.message.includes(`member ${before}`),
      ),
    )
    // ChainFire is unaffected and still reported.
    const h = await lab.cli(['health', '--json'])
    assert.equal(h.json.data.components.find((c: {component: string}) => c.component === 'chainfire').status, 'ok')
  })

  it('stop a majority: crit, quorum lost; restarting them restores the cluster', async () => {
    const nb = (await status()).json.data.details.nb
    const alive = nb.members.filter((m: {reachable: boolean}) => m.reachable).map((m: {name: string}) => m.name)
    const down = nb.members.filter((m: {reachable: boolean}) => !m.reachable).map((m: {name: string}) => m.name)
    await kill(alive[0])
    const r = await status()
    assert.equal(r.exitCode, 5, r.stdout)
    assert.equal(r.json.data.status, 'crit')
    assert.ok(
      r.json.data.findings.some(
        (f: {status: string; message: string}) => f.status === 'crit' && /QUORUM LOST/.test(f.message),
      ),
      JSON.stringify(r.json.data.findings),
    )
    const h = await lab.cli(['health', '--json'])
    assert.equal(h.exitCode, 5)
    assert.equal(h.json.data.components.find((c: {component: string}) => c.component === 'prismnet').status, 'crit')
    assert.equal(h.json.data.components.find((c: {component: string}) => c.component === 'chainfire').status, 'ok')
    assert.ok(
      h.json.data.problems.some((p: {message: string}) =>
        p.message.startsWith('prismnet: OVN Northbound DB: QUORUM LOST'),
      ),
    )

    // The service scripts bring them back through each node's sshd, as a runbook would.
    for (const n of [...down, alive[0]]) {
      const x = await lab.sshExec(n, `${join(lab.dir, 'nodes', n, 'bin', 'ovn-nb')} start`)
      assert.equal(x.exitCode, 0, x.stderr + x.stdout)
    }
    await eventually(async () => (await status()).exitCode === 0, 30_000, 'the OVN NB cluster healthy again')
  })
})
