import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {mkdir, mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {describe, it} from 'node:test'
import type {Member} from '../../src/adapters/chainfire/index.js'
import type {Context} from '../../src/config/schema.js'
import type {ChainfireHealth, MemberHealth} from '../../src/services/health/probes/chainfire.js'
import {failureTolerance, hasQuorum, majority} from '../../src/services/health/quorum.js'
import {mergeEnv, planAdd} from '../../src/services/node/add.js'
import {
  type DataDirFacts,
  dataDirProbe,
  joinSpaceFindings,
  moveAsideFindings,
  parseDataDirFacts,
  WAL_SEGMENT_BYTES,
} from '../../src/services/node/host-check.js'
import {outcomeOf, planRemoval, verifyAsPredicted} from '../../src/services/node/remove.js'
import {type NodeCheck, refusalHint, refusals, removalImpact, runPreflight} from '../../src/services/node/preflight.js'

const ctx: Context = {name: 't', environment: 'lab', nodes: []}

/** A cluster of N voters (n1 leads) with the named members down. */
function cluster(n: number, down: string[] = []): {health: ChainfireHealth; members: Member[]} {
  const members: Member[] = Array.from({length: n}, (_, i) => ({
    id: `id${i + 1}`,
    name: `n${i + 1}`,
    peerURLs: [`http://10.0.0.${i + 1}:2380`],
    clientURLs: [],
    isLearner: false,
  }))
  const rows: MemberHealth[] = members.map((m) => ({
    name: m.name,
    id: m.id,
    endpoint: null,
    reachable: !down.includes(m.name),
    healthy: !down.includes(m.name),
    leader: m.name === 'n1' && !down.includes('n1'),
    learner: false,
    raftTerm: 2,
    raftIndex: 10,
    appliedIndex: 10,
    lag: 0,
    dbSize: 1,
    dbSizeInUse: 1,
    version: '3.4',
    clusterId: 'c',
    alarms: [],
    latencyMs: 1,
    error: down.includes(m.name) ? 'connection refused' : null,
  }))
  const healthy = n - down.length
  const quorum = hasQuorum(n, down.length)
  return {
    members,
    health: {
      clusterId: 'c',
      clusterIdAgrees: true,
      leader: quorum && !down.includes('n1') ? 'n1' : null,
      leaderId: 'id1',
      raftTerm: 2,
      revision: 5,
      quorum,
      voters: n,
      votersHealthy: healthy,
      quorumSize: majority(n),
      failureTolerance: quorum ? failureTolerance(n, down.length) : 0,
      learners: 0,
      alarms: [],
      members: rows,
    },
  }
}

async function check(n: number, remove: string, down: string[] = [], force: string[] = [], lock: object | null = null) {
  const {health, members} = cluster(n, down)
  const member = members.find((m) => m.name === remove)
  const memberHealth = health.members.find((m) => m.name === remove)
  const impact = removalImpact(health, member, memberHealth)
  const findings = await runPreflight(
    {
      operation: 'remove',
      ctx,
      node: {name: remove, address: 'x', roles: ['chainfire']},
      cluster: health,
      member,
      memberHealth,
      impact,
      lock,
    },
    force,
  )
  return {
    impact,
    findings,
    refused: refusals(findings).map((f) => f.id),
    warned: findings.filter((f) => f.level === 'warn').map((f) => f.id),
  }
}

describe('node removal preflight', () => {
  it('3 healthy voters, remove a follower: allowed, warns tolerance 0 and even count', async () => {
    const r = await check(3, 'n2')
    assert.deepEqual(r.refused, [])
    assert.deepEqual(r.warned, ['tolerance', 'even-voters'])
    assert.deepEqual(
      [r.impact.votersAfter, r.impact.healthyAfter, r.impact.quorumAfter, r.impact.failureToleranceAfter],
      [2, 2, 2, 0],
    )
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
    assert.deepEqual(
      (await check(3, 'n2', [], ['member-down'], {holder: 'x'})).refused,
      ['lock'],
      'another flag does not override the lock',
    )
    const forced = await check(3, 'n2', [], ['lock'], {holder: 'x'})
    assert.deepEqual(forced.refused, [])
    assert.equal(forced.findings.find((f) => f.id === 'lock')?.overridden, true, 'the override is recorded, not silent')
    assert.ok((await check(3, 'n3', ['n1', 'n2'])).refused.includes('no-leader'))
  })

  it('checks are pluggable per role: a check for another role does not run on a chainfire-only node', async () => {
    const vmCheck: NodeCheck = {
      id: 'vms-running',
      roles: ['plasmavmc-host'],
      operations: ['remove'],
      describe: 'no VMs',
      run: () => [{id: 'vms-running', level: 'refuse', message: 'VMs run'}],
    }
    const {health, members} = cluster(3)
    const input = {
      operation: 'remove' as const,
      ctx,
      cluster: health,
      member: members[1],
      memberHealth: health.members[1],
      impact: removalImpact(health, members[1], health.members[1]),
      lock: null,
    }
    assert.deepEqual(
      refusals(await runPreflight({...input, node: {name: 'n2', address: 'x', roles: ['chainfire']}}, [], [vmCheck])),
      [],
    )
    assert.deepEqual(
      refusals(
        await runPreflight(
          {...input, node: {name: 'n2', address: 'x', roles: ['chainfire', 'plasmavmc-host']}},
          [],
          [vmCheck],
        ),
      ).map((f) => f.id),
      ['vms-running'],
    )
  })
})

describe('join settings merged into an env file', () => {
  it('replaces the ETCD_* join keys, keeps every other line, appends what is missing', () => {
    const before =
      "# comment\nETCD_NAME='old'\nETCD_LISTEN_CLIENT_URLS='http://a:2379'\nexport ETCD_INITIAL_CLUSTER_STATE=new\n"
    const out = mergeEnv(before, {
      ETCD_NAME: 'n4',
      ETCD_INITIAL_CLUSTER_STATE: 'existing',
      ETCD_INITIAL_CLUSTER: 'n1=http://a:2380,n4=http://d:2380',
    })
    assert.equal(
      out,
      "# comment\nETCD_NAME='n4'\nETCD_LISTEN_CLIENT_URLS='http://a:2379'\nETCD_INITIAL_CLUSTER_STATE='existing'\nETCD_INITIAL_CLUSTER='n1=http://a:2380,n4=http://d:2380'\n",
    )
    assert.equal(mergeEnv('', {A_B: "it's"}), "A_B='it'\\''s'\n")
  })
})

/** The remaining cluster of a 5-voter cluster after removing REMOVED, with DOWN members down. */
function after5(removed: string, down: string[]) {
  const {health} = cluster(5, down)
  const members = health.members.filter((m) => m.name !== removed)
  const healthy = members.filter((m) => m.healthy).length
  return {...health, members, voters: 4, votersHealthy: healthy, failureTolerance: failureTolerance(4, 4 - healthy)}
}

describe('plans predict the cluster they leave, and the context follows the membership', () => {
  it('5 voters with n4 and n5 down, remove n4: the verification expects n5 still down and accepts it, or n5 back', async () => {
    const {health, members} = cluster(5, ['n4', 'n5'])
    const r = await check(5, 'n4', ['n4', 'n5'])
    assert.deepEqual(r.refused, [])
    assert.deepEqual(
      [r.impact.votersAfter, r.impact.healthyAfter, r.impact.failureToleranceAfter, r.impact.othersDown],
      [4, 3, 0, ['n5']],
    )
    const plan = planRemoval(
      ctx,
      {name: 'n4', address: 'x', roles: ['chainfire']},
      {cluster: health, member: members[3], memberHealth: health.members[3]},
      r.findings,
      false,
    )
    assert.match(
      plan.steps.find((s) => s.step === 'verify')!.describe,
      /every remaining member healthy except n5 \(down before the removal\)/,
    )
    assert.equal(verifyAsPredicted(after5('n4', ['n5']), plan.impact), null)
    assert.deepEqual(outcomeOf(after5('n4', ['n5']), plan.impact).stillDown, ['n5'])
    assert.equal(verifyAsPredicted(after5('n4', []), plan.impact), null, 'n5 back is better than predicted')
    assert.equal(outcomeOf(after5('n4', []), plan.impact).stillDown, undefined)
    assert.match(
      verifyAsPredicted(after5('n4', ['n3']), plan.impact) ?? '',
      /unhealthy: n3/,
      'a member the plan counted on is down',
    )
    assert.match(verifyAsPredicted({...after5('n4', ['n5']), leader: null}, plan.impact) ?? '', /no leader/)
    const notJoined = {
      ...after5('n4', ['n5']).members[0],
      name: 'n6',
      id: null,
      healthy: false,
      reachable: false,
      error: 'connection refused',
    }
    assert.equal(
      verifyAsPredicted({...after5('n4', ['n5']), members: [...after5('n4', ['n5']).members, notJoined]}, plan.impact),
      null,
      'a context node that is no member does not count',
    )
  })

  it('the context is updated right after the member removal (before the service and data steps); a non-member is marked last', () => {
    const {health, members} = cluster(3)
    const member = planRemoval(
      ctx,
      {name: 'n2', address: 'x', roles: ['chainfire']},
      {cluster: health, member: members[1], memberHealth: health.members[1]},
      [],
      false,
    )
    assert.deepEqual(
      member.steps.map((s) => s.step),
      ['member-remove', 'mark-removed', 'stop-service', 'disable-service', 'move-data', 'verify'],
    )
    const none = planRemoval(
      ctx,
      {name: 'n9', address: 'x', roles: ['chainfire']},
      {cluster: health, member: undefined, memberHealth: undefined},
      [],
      false,
    )
    assert.deepEqual(
      none.steps.map((s) => s.step),
      ['stop-service', 'disable-service', 'move-data', 'verify', 'mark-removed'],
    )
    const add = planAdd(ctx, {name: 'n4', address: 'x', roles: ['chainfire']}, true, undefined, 3, [], ['n3'])
    assert.deepEqual(add.steps.map((s) => s.step).slice(0, 2), ['member-add', 'mark-active'])
    assert.deepEqual([add.votersAfter, add.failureToleranceAfter, add.downBefore], [4, 0, ['n3']])
  })
})

describe('host preflight: what the steps need on the node, decided before the first change', () => {
  const facts = (f: Partial<DataDirFacts>): DataDirFacts => ({
    exists: true,
    parentWritable: true,
    dataDev: '2049',
    parentDev: '2049',
    freeKb: 1_000_000,
    unwritable: [],
    ...f,
  })

  it('moving the data dir aside is a rename: no free space needed on one filesystem; refused for a read-only parent or a mount point', () => {
    assert.deepEqual(
      moveAsideFindings('n2', '/var/lib/chainfire', facts({freeKb: 0})),
      [],
      'a full disk does not stop a rename',
    )
    assert.deepEqual(
      moveAsideFindings('n2', '/var/lib/chainfire', facts({exists: false, parentWritable: false})),
      [],
      'nothing to move',
    )
    const ro = moveAsideFindings('n2', '/var/lib/chainfire', facts({parentWritable: false}))
    assert.deepEqual(
      ro.map((f) => [f.id, f.level]),
      [['data-dir', 'refuse']],
    )
    assert.match(ro[0].message, /\/var\/lib is not writable by the SSH user/)
    const mount = moveAsideFindings('n2', '/var/lib/chainfire', facts({dataDev: '2065'}))
    assert.match(mount[0].message, /is a mount point and cannot be renamed aside/)
  })

  it('a joining member needs room for the database it receives plus one WAL segment', () => {
    const db = 100 * 1024 * 1024
    const needKb = (db + WAL_SEGMENT_BYTES) / 1024
    assert.deepEqual(joinSpaceFindings('n4', '/d', facts({freeKb: needKb}), db), [])
    const short = joinSpaceFindings('n4', '/d', facts({freeKb: needKb - 1}), db)
    assert.deepEqual(
      short.map((f) => [f.id, f.level]),
      [['disk-space', 'refuse']],
    )
    assert.match(
      short[0].message,
      /n4: 164 MiB free for \/d, the member needs about 164 MiB \(database 100 MiB \+ one WAL segment\)/,
    )
    assert.deepEqual(
      joinSpaceFindings('n4', '/d', facts({freeKb: null}), db).map((f) => f.level),
      ['warn'],
    )
  })

  it('a host refusal has no --force: its hint says what to fix, next to the overrides of the checks that have one', () => {
    const hint = refusalHint([
      {id: 'ssh', level: 'refuse', message: 'n2 refuses its host key', hint: "ssh-keygen -R '[a]:22'"},
      {id: 'lock', level: 'refuse', message: 'locked'},
    ])
    assert.equal(hint, "ssh-keygen -R '[a]:22'; --force lock overrides this check (only if you know why it is safe)")
  })

  it('a check refusing for several reasons is overridden once: one --force per check id', () => {
    const hint = refusalHint([
      {id: 'flaredb-replicas', level: 'refuse', message: 'region r1 would have 2 live replicas'},
      {id: 'flaredb-replicas', level: 'refuse', message: 'region r2 would have 2 live replicas'},
      {id: 'vms-running', level: 'refuse', message: 'vm-1 runs there'},
    ])
    assert.equal(
      hint,
      '--force flaredb-replicas --force vms-running overrides these checks (only if you know why it is safe)',
    )
  })

  it('the probe command reads the facts from a real filesystem (here: the local one)', async () => {
    const sh = (script: string) => promisify(execFile)('sh', ['-c', script]).then((r) => parseDataDirFacts(r.stdout))
    const dir = await mkdtemp(join(tmpdir(), 'plasmactl-probe-'))
    try {
      await mkdir(join(dir, 'data'))
      const f = await sh(dataDirProbe(join(dir, 'data'), [join(dir, 'etc', 'chainfire.env')]))
      assert.deepEqual(
        {...f, freeKb: typeof f.freeKb},
        {
          exists: true,
          parentWritable: true,
          dataDev: f.parentDev,
          parentDev: f.parentDev,
          freeKb: 'number',
          unwritable: [],
        },
      )
      assert.ok(f.dataDev)
      assert.deepEqual(moveAsideFindings('local', join(dir, 'data'), f), [])
      const missing = await sh(dataDirProbe(join(dir, 'no', 'such', 'data')))
      assert.equal(missing.exists, false)
      assert.ok((missing.freeKb ?? 0) > 0, 'free space of the nearest existing directory')
      // /proc is a mount point on Linux: the probe sees it, and the decision refuses to rename it.
      const proc = await sh(dataDirProbe('/proc'))
      assert.notEqual(proc.dataDev, proc.parentDev)
      assert.deepEqual(
        moveAsideFindings('local', '/proc', proc).map((f) => f.id),
        ['data-dir'],
      )
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
