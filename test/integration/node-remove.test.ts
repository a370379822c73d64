import assert from 'node:assert/strict'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {ChainfireClient} from '../../src/adapters/chainfire/index.js'
import {type Lab, startLab} from '../helpers/lab.js'
import {clientOf, contextNode, fingerprint, journalOf, leaderOf, memberNames, nodeDirEntries} from '../helpers/node.js'

describe('node remove against a real 3-node lab', () => {
  let lab: Lab
  let client: ChainfireClient
  let env: Record<string, string>
  let stateDir: string
  const cli = (args: string[]) => lab.cli(args, {env})

  before(async () => {
    lab = await startLab({nodes: 3})
    stateDir = join(lab.dir, '..', 'state')
    env = {PLASMACTL_STATE_DIR: stateDir}
    client = clientOf(lab)
    for (let i = 0; i < 20; i++) await client.put(`/data/k${i}`, `v${i}`)
  })

  after(async () => {
    client?.close()
    await lab?.stop()
  })

  it('--dry-run prints the plan and changes nothing (membership, revision, services)', async () => {
    const {leader} = await leaderOf(client)
    const before = await fingerprint(lab, client, ['n1', 'n2', 'n3'])
    const dry = await cli(['node', 'remove', leader!, '--dry-run', '--json'])
    assert.equal(dry.exitCode, 0, dry.stderr + dry.stdout)
    const plan = dry.json.data.plan
    assert.equal(dry.json.data.dryRun, true)
    assert.equal(plan.member.leader, true)
    assert.deepEqual(
      plan.steps.map((s: {step: string}) => s.step),
      [
        'transfer-leadership',
        'member-remove',
        'mark-removed',
        'stop-service',
        'disable-service',
        'move-data',
        'verify',
      ],
    )
    assert.match(
      plan.summary,
      new RegExp(`remove ${leader} \\(leader\\): leadership → n\\d first; 2 voters remain .*failure tolerance 0`),
    )
    assert.ok(
      plan.checks.some((c: {id: string}) => c.id === 'tolerance'),
      'warns that failure tolerance drops to 0',
    )
    assert.ok(
      plan.checks.some((c: {id: string}) => c.id === 'even-voters'),
      'warns about an even voter count',
    )
    const human = await cli(['node', 'remove', leader!, '--dry-run'])
    assert.equal(human.exitCode, 0)
    assert.match(human.stdout, /dry run: nothing changed/)
    assert.match(human.stdout, /1\. transfer leadership/)
    assert.deepEqual(await fingerprint(lab, client, ['n1', 'n2', 'n3']), before)
    assert.equal((await leaderOf(client)).leader, leader)
    assert.deepEqual(await readdirSafe(join(stateDir, 'node-runs')), [], 'no journal written')
  })

  it('refuses while the cluster lock is held (exit 6), changing nothing', async () => {
    const lease = await client.leaseGrant(60)
    const holder = {
      holder: 'runbook@elsewhere',
      host: 'elsewhere',
      pid: 1,
      runId: 'runbook-123',
      purpose: 'runbook run',
      startedAt: new Date().toISOString(),
    }
    const put = await client.putIfAbsent('/plasmactl/locks/cluster', JSON.stringify(holder), lease.id)
    assert.equal(put.succeeded, true)
    try {
      const before = await fingerprint(lab, client, ['n1', 'n2', 'n3'])
      const r = await cli(['node', 'remove', 'n2', '--yes', '--json'])
      assert.equal(r.exitCode, 6, r.stderr + r.stdout)
      assert.equal(r.json.error.code, 'REFUSED')
      assert.match(r.json.error.message, /lock is held by runbook@elsewhere/)
      assert.deepEqual(await fingerprint(lab, client, ['n1', 'n2', 'n3']), before)
    } finally {
      await client.leaseRevoke(lease.id)
    }
  })

  it('refuses to remove a healthy member while another is down (exit 6), changing nothing', async () => {
    await lab.killMember('n3')
    const before = await fingerprint(lab, client, ['n1', 'n2'])
    const r = await cli(['node', 'remove', 'n2', '--yes', '--json'])
    assert.equal(r.exitCode, 6, r.stderr + r.stdout)
    assert.match(r.json.error.message, /n3 is already down: removing healthy n2 would leave 1 of 2 voters healthy/)
    assert.match(r.json.error.hint, /--force member-down/)
    const human = await cli(['node', 'remove', 'n2', '--yes'])
    assert.equal(human.exitCode, 6)
    assert.match(human.stderr, /plasmactl: error: refusing to remove n2, nothing was changed/)
    assert.deepEqual(await fingerprint(lab, client, ['n1', 'n2']), before)
    assert.deepEqual(before.members, ['n1', 'n2', 'n3'])
  })

  it('with --force member-down the server itself refuses (strict reconfiguration check): exit 6, membership unchanged', async () => {
    const before = await memberNames(client)
    const r = await cli(['node', 'remove', 'n2', '--yes', '--force', 'member-down', '--json'])
    assert.equal(r.exitCode, 6, r.stderr + r.stdout)
    assert.match(r.json.error.message, /ChainFire refused to remove member n2: .*unhealthy cluster/)
    assert.deepEqual(await memberNames(client), before)
    assert.ok(await lab.memberPid('n2'), 'n2 still runs')
    assert.equal((await contextNode(lab, 'n2'))?.removed, undefined)
  })

  it('removes a member that is already dead (the failed-member case); its data stays on disk', async () => {
    const r = await cli(['node', 'remove', 'n3', '--yes', '--json'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    assert.equal(r.json.data.plan.member.healthy, false)
    assert.deepEqual(r.json.data.verified, {
      leader: r.json.data.verified.leader,
      voters: 2,
      votersHealthy: 2,
      failureTolerance: 0,
    })
    assert.deepEqual(await memberNames(client), ['n1', 'n2'])
    const entries = await nodeDirEntries(lab, 'n3')
    assert.ok(entries.includes(`data.removed-${r.json.data.runId}`), entries.join(' '))
    assert.ok(entries.includes('chainfire.disabled'))
    assert.ok(
      (await readdirSafe(join(lab.dir, 'nodes', 'n3', `data.removed-${r.json.data.runId}`))).includes('member'),
      'the etcd data is intact',
    )
    assert.equal((await contextNode(lab, 'n3'))?.removed, true)
    // The disabled service refuses to start again.
    const start = await lab.sshExec('n3', `${lab.serviceScript('n3')} chainfire start`)
    assert.notEqual(start.exitCode, 0)
    assert.match(start.stderr, /disabled/)
    // Keys written before are all there.
    assert.equal((await client.getPrefix('/data/')).kvs.length, 20)
  })

  it('removes the leader: leadership moves first, the cluster is leaderless at most for one election', async () => {
    const two = clientOf(lab, ['n1', 'n2'])
    try {
      const start = await leaderOf(two)
      assert.ok(start.leader)
      const other = start.leader === 'n1' ? 'n2' : 'n1'
      // Watch the leader from the outside while the removal runs.
      const samples: {leader: boolean; term: number}[] = []
      let watching = true
      const watcher = (async () => {
        while (watching) {
          const sts = await Promise.all(two.endpoints.map((e) => two.status(e, 500).catch(() => undefined)))
          const alive = sts.filter((s) => s !== undefined)
          samples.push({
            leader: alive.some((s) => s.leader !== '0'),
            term: Math.max(...alive.map((s) => s.raftTerm), -1),
          })
          await new Promise((res) => setTimeout(res, 20))
        }
      })()
      const r = await cli(['node', 'remove', start.leader!, '--yes', '--json'])
      watching = false
      await watcher
      assert.equal(r.exitCode, 0, r.stderr + r.stdout)
      const j = await journalOf(stateDir, r.json.data.runId)
      const order = j.filter((e) => e.type === 'step-end').map((e) => e.step)
      assert.deepEqual(order, [
        'transfer-leadership',
        'member-remove',
        'mark-removed',
        'stop-service',
        'disable-service',
        'move-data',
        'verify',
      ])
      assert.equal(j.find((e) => e.step === 'transfer-leadership' && e.type === 'step-end').data.to, other)
      const survivor = clientOf(lab, [other])
      const after = await leaderOf(survivor)
      survivor.close()
      assert.equal(after.leader, other)
      assert.equal(after.term, start.term + 1, 'exactly one election (the transfer)')
      const gaps = samples.filter((s, i) => !s.leader && (i === 0 || samples[i - 1].leader)).length
      assert.ok(gaps <= 1, `leaderless stretches: ${gaps}`)
      assert.ok(
        samples.every((s) => s.term <= start.term + 1),
        'no election beyond the transfer',
      )
    } finally {
      two.close()
    }
  })

  it('refuses to remove the only member (exit 6), changing nothing', async () => {
    const last = (await contextNode(lab, 'n1'))?.removed ? 'n2' : 'n1'
    const one = clientOf(lab, [last])
    try {
      const before = await fingerprint(lab, one, [last])
      const r = await cli(['node', 'remove', last, '--yes', '--json'])
      assert.equal(r.exitCode, 6, r.stderr + r.stdout)
      assert.match(r.json.error.message, /last ChainFire member/)
      assert.deepEqual(await fingerprint(lab, one, [last]), before)
      const list = await cli(['node', 'list', '--json'])
      assert.equal(list.exitCode, 0, list.stderr)
      const rows = list.json.data.nodes as {
        name: string
        state: string
        chainfire: {leader: boolean; learner: boolean; healthy: boolean} | null
      }[]
      assert.deepEqual(rows.map((n) => [n.name, n.state]).sort(), [
        ['n1', last === 'n1' ? 'active' : 'removed'],
        ['n2', last === 'n2' ? 'active' : 'removed'],
        ['n3', 'removed'],
      ])
      const me = rows.find((n) => n.name === last)!
      assert.deepEqual(
        {leader: me.chainfire?.leader, learner: me.chainfire?.learner, healthy: me.chainfire?.healthy},
        {leader: true, learner: false, healthy: true},
      )
    } finally {
      one.close()
    }
    // Every run released the cluster lock: nothing of ours is left under the lock prefix.
    const c = clientOf(lab, [last])
    try {
      assert.equal(
        (await c.getPrefix('/plasmactl/locks/')).kvs.filter((kv) => kv.value.toString().includes(hostname())).length,
        0,
      )
    } finally {
      c.close()
    }
  })

  it('node add joins a new lab node as a learner and promotes it: a healthy voter that serves the old keys', async () => {
    const last = (await contextNode(lab, 'n1'))?.removed ? 'n2' : 'n1'
    const add = await cli(['lab', 'add-node', 'n4', '--json'])
    assert.equal(add.exitCode, 0, add.stderr + add.stdout)
    const n4 = add.json.data.node
    lab.nodes.push({name: 'n4', address: n4.address, clientUrl: n4.clientUrl, sshPort: n4.sshPort})
    const dry = await cli(['node', 'add', 'n4', '--dry-run', '--json'])
    assert.equal(dry.exitCode, 0, dry.stderr + dry.stdout)
    assert.deepEqual(
      dry.json.data.plan.steps.map((s: {step: string}) => s.step),
      [
        'member-add',
        'mark-active',
        'clear-data',
        'write-join-settings',
        'start-service',
        'wait-caught-up',
        'promote',
        'verify',
      ],
    )
    assert.equal(await lab.memberPid('n4'), undefined, 'dry run started nothing')
    const r = await cli(['node', 'add', 'n4', '--yes', '--json'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    assert.deepEqual(r.json.data.verified, {leader: last, voters: 2, votersHealthy: 2, failureTolerance: 0})
    const c = clientOf(lab, ['n4'])
    try {
      const m = (await c.memberList()).members.find((x) => x.name === 'n4')
      assert.equal(m?.isLearner, false)
      assert.equal((await c.getPrefix('/data/')).kvs.length, 20)
    } finally {
      c.close()
    }
    const env = await lab.sshExec('n4', `cat ${join(lab.dir, 'nodes', 'n4', 'chainfire.env')}`)
    assert.match(env.stdout, /ETCD_INITIAL_CLUSTER_STATE='existing'/)
    const initial = /ETCD_INITIAL_CLUSTER='([^']*)'/.exec(env.stdout)?.[1] ?? ''
    assert.deepEqual(
      initial
        .split(',')
        .map((e) => e.split('=')[0])
        .sort(),
      [last, 'n4'],
    )
    const again = await cli(['node', 'add', 'n4', '--yes', '--json'])
    assert.equal(again.exitCode, 2, 'already a voter')
  })
})

async function readdirSafe(p: string): Promise<string[]> {
  const {readdir} = await import('node:fs/promises')
  return readdir(p).catch(() => [])
}
