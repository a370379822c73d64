import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {Member} from '../../src/adapters/chainfire/index.js'
import type {Context} from '../../src/config/schema.js'
import type {ChainfireHealth, MemberHealth} from '../../src/services/health/probes/chainfire.js'
import {failureTolerance, hasQuorum, majority} from '../../src/services/health/quorum.js'
import {mergeEnv} from '../../src/services/node/add.js'
import {type NodeCheck, refusals, removalImpact, runPreflight} from '../../src/services/node/preflight.js'

const ctx: Context = {name: 't', environment: 'lab', nodes: []}

/** A cluster of N voters (n1 leads) with the named members down. */
function cluster(n: number, down: string[] = []): {health: ChainfireHealth; members: Member[]} {
  const members: Member[] = Array.from({length: n}, (_, i) => ({id: `id${i + 1}`, name: `n${i + 1}`, peerURLs: [`http://10.0.0.${i + 1}:2380`], clientURLs: [], isLearner: false}))
  const rows: MemberHealth[] = members.map((m) => ({
    name: m.name, id: m.id, endpoint: null, reachable: !down.includes(m.name), healthy: !down.includes(m.name), leader: m.name === 'n1' && !down.includes('n1'), learner: false,
    raftTerm: 2, raftIndex: 10, appliedIndex: 10, lag: 0, dbSize: 1, dbSizeInUse: 1, version: '3.4', clusterId: 'c', alarms: [], latencyMs: 1, error: down.includes(m.name) ? 'connection refused' : null,
  }))
  const healthy = n - down.length
  const quorum = hasQuorum(n, down.length)
  return {
    members,
    health: {clusterId: 'c', clusterIdAgrees: true, leader: quorum && !down.includes('n1') ? 'n1' : null, leaderId: 'id1', raftTerm: 2, revision: 5, quorum, voters: n, votersHealthy: healthy, quorumSize: majority(n), failureTolerance: quorum ? failureTolerance(n, down.length) : 0, learners: 0, alarms: [], members: rows},
  }
}

async function check(n: number, remove: string, down: string[] = [], force: string[] = [], lock: object | null = null) {
  const {health, members} = cluster(n, down)
  const member = members.find((m) => m.name === remove)
  const memberHealth = health.members.find((m) => m.name === remove)
  const impact = removalImpact(health, member, memberHealth)
  const findings = await runPreflight({operation: 'remove', ctx, node: {name: remove, address: 'x', roles: ['chainfire']}, cluster: health, member, memberHealth, impact, lock}, force)
  return {impact, findings, refused: refusals(findings).map((f) => f.id), warned: findings.filter((f) => f.level === 'warn').map((f) => f.id)}
}

describe('node removal preflight', () => {
  it('3 healthy voters, remove a follower: allowed, warns tolerance 0 and even count', async () => {
    const r = await check(3, 'n2')
    assert.deepEqual(r.refused, [])
    assert.deepEqual(r.warned, ['tolerance', 'even-voters'])
    assert.deepEqual([r.impact.votersAfter, r.impact.healthyAfter, r.impact.quorumAfter, r.impact.failureToleranceAfter], [2, 2, 2, 0])
  })

  it('5 healthy voters, remove one: tolerance 1, warns only about the even count', async () => {
    const r = await check(5, 'n3')
    assert.deepEqual(r.refused, [])
    assert.deepEqual(r.warned, ['even-voters'])
    assert.equal(r.impact.failureToleranceAfter, 1)
  })

  it('3 voters, n3 down: removing healthy n2 is refused (member-down), removing n3 itself is allowed', async () => {
    assert.deepEqual((await check(3, 'n2', ['n3'])).refused, ['member-down'])
    const dead = await check(3, 'n3', ['n3'])
    assert.deepEqual(dead.refused, [])
    assert.deepEqual([dead.impact.votersAfter, dead.impact.healthyAfter, dead.impact.failureToleranceAfter], [2, 2, 0])
  })

  it('5 voters, one down: removing a healthy member keeps quorum (tolerance 0); with two down it is refused', async () => {
    const one = await check(5, 'n2', ['n5'])
    assert.deepEqual(one.refused, [])
    assert.ok(one.warned.includes('tolerance'))
    assert.deepEqual((await check(5, 'n2', ['n4', 'n5'])).refused, ['member-down'])
  })

  it('refuses the last member, a held lock and a leaderless cluster; --force overrides only the named check', async () => {
    assert.deepEqual((await check(1, 'n1')).refused, ['last-member'])
    const locked = await check(3, 'n2', [], [], {holder: 'x', runId: 'r'})
    assert.deepEqual(locked.refused, ['lock'])
    assert.deepEqual((await check(3, 'n2', [], ['member-down'], {holder: 'x'})).refused, ['lock'], 'another flag does not override the lock')
    const forced = await check(3, 'n2', [], ['lock'], {holder: 'x'})
    assert.deepEqual(forced.refused, [])
    assert.equal(forced.findings.find((f) => f.id === 'lock')?.overridden, true, 'the override is recorded, not silent')
    assert.ok((await check(3, 'n3', ['n1', 'n2'])).refused.includes('no-leader'))
  })

  it('checks are pluggable per role: a check for another role does not run on a chainfire-only node', async () => {
    const vmCheck: NodeCheck = {id: 'vms-running', roles: ['plasmavmc-host'], operations: ['remove'], describe: 'no VMs', run: () => [{id: 'vms-running', level: 'refuse', message: 'VMs run'}]}
    const {health, members} = cluster(3)
    const input = {operation: 'remove' as const, ctx, cluster: health, member: members[1], memberHealth: health.members[1], impact: removalImpact(health, members[1], health.members[1]), lock: null}
    assert.deepEqual(refusals(await runPreflight({...input, node: {name: 'n2', address: 'x', roles: ['chainfire']}}, [], [vmCheck])), [])
    assert.deepEqual(refusals(await runPreflight({...input, node: {name: 'n2', address: 'x', roles: ['chainfire', 'plasmavmc-host']}}, [], [vmCheck])).map((f) => f.id), ['vms-running'])
  })
})

describe('join settings merged into an env file', () => {
  it('replaces the ETCD_* join keys, keeps every other line, appends what is missing', () => {
    const before = "# comment\nETCD_NAME='old'\nETCD_LISTEN_CLIENT_URLS='http://a:2379'\nexport ETCD_INITIAL_CLUSTER_STATE=new\n"
    const out = mergeEnv(before, {ETCD_NAME: 'n4', ETCD_INITIAL_CLUSTER_STATE: 'existing', ETCD_INITIAL_CLUSTER: "n1=http://a:2380,n4=http://d:2380"})
    assert.equal(out, "# comment\nETCD_NAME='n4'\nETCD_LISTEN_CLIENT_URLS='http://a:2379'\nETCD_INITIAL_CLUSTER_STATE='existing'\nETCD_INITIAL_CLUSTER='n1=http://a:2380,n4=http://d:2380'\n")
    assert.equal(mergeEnv('', {A_B: "it's"}), "A_B='it'\\''s'\n")
  })
})
