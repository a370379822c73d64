import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {type HealthReport, healthChanges} from '../../src/services/health/index.js'

type M = {name: string; reachable: boolean; healthy: boolean; error: string | null}
const member = (name: string, o: Partial<M> = {}): M => ({name, reachable: true, healthy: true, error: null, ...o})

function report(
  leader: string | null,
  raftTerm: number,
  members: M[],
  extra: HealthReport['components'] = [],
): HealthReport {
  return {
    context: 'lab',
    environment: 'lab',
    status: 'ok',
    checkedAt: '2026-12-02T00:00:00Z',
    durationMs: 1,
    problems: [],
    components: [
      {
        component: 'chainfire',
        status: 'ok',
        summary: '',
        findings: [],
        durationMs: 1,
        details: {leader, quorum: leader !== null, raftTerm, members},
      },
      ...extra,
    ],
  } as HealthReport
}

/** The change lines of `health --watch`: what changed, in words, not just "ok → crit". */
describe('health --watch change lines', () => {
  const three = () => [member('n1'), member('n2'), member('n3')]

  it('a raft term jump without a leader change says a member called an election', () => {
    const lines = healthChanges(report('n1', 2, three()), report('n1', 4, three()))
    assert.deepEqual(lines, [
      'chainfire raft term 2 → 4 without a leader change: a member called an election (cut off, or restarted)',
    ])
  })

  it('leadership moved (one term up, every member healthy throughout) is a transfer, not a leader loss', () => {
    assert.deepEqual(healthChanges(report('n1', 2, three()), report('n2', 3, three())), [
      'chainfire leadership moved: n1 → n2 (term 2 → 3); every member stayed healthy (a leadership transfer, e.g. move-leader), no leader was lost',
    ])
  })

  it('a partition: the cut-off member answers us but cannot serve; when it heals it says so, and a deposed leader that stayed up is not a lost one', () => {
    const cut = [member('n1'), member('n2'), member('n3', {healthy: false})]
    assert.deepEqual(healthChanges(report('n1', 2, three()), report('n1', 2, cut)), [
      'chainfire member n3 is CUT OFF from its peers (a partition): its process is up and answers us, but it cannot reach leader n1; the others keep quorum without it',
    ])
    const healed = healthChanges(report('n1', 2, cut), report('n2', 5, three()))
    assert.deepEqual(healed, [
      'chainfire leader changed: n1 → n2 (term 2 → 5); n1 is still up: a member that was cut off called an election (a healed partition), or leadership was moved',
      'chainfire partition healed: n3 rejoined at term 5 (leader n2)',
    ])
  })

  it('a watch remembers the cut-off member: its heal is told as such across the election it causes, the others are not called healed', () => {
    const memory = {cutOff: new Set<string>()}
    const cut = [member('n1'), member('n2'), member('n3', {healthy: false})]
    healthChanges(report('n1', 2, three()), report('n1', 2, cut), memory)
    assert.deepEqual([...memory.cutOff], ['n3'])
    // On heal, n3's higher term deposes n1: for a refresh nobody leads and nobody serves.
    const election = [member('n1', {healthy: false}), member('n2', {healthy: false}), member('n3', {healthy: false})]
    healthChanges(report('n1', 2, cut), report(null, 7, election), memory)
    const healed = healthChanges(report(null, 7, election), report('n2', 7, three()), memory)
    assert.ok(healed.includes('chainfire partition healed: n3 rejoined at term 7 (leader n2)'), healed.join('\n'))
    assert.ok(!healed.some((l) => /n1 rejoined|n2 rejoined/.test(l)), healed.join('\n'))
    assert.deepEqual([...memory.cutOff], [])
  })

  it('without quorum an unhealthy member is not called partitioned, nor its recovery a healed partition', () => {
    const down = (name: string) => member(name, {reachable: false, healthy: false, error: 'connection refused'})
    const lost = [down('n1'), down('n2'), member('n3', {healthy: false})]
    assert.deepEqual(healthChanges(report('n1', 2, [down('n1'), down('n2'), member('n3')]), report(null, 2, lost)), [
      'chainfire leader changed: n1 → none',
      'chainfire QUORUM LOST',
      'chainfire member n3 became unhealthy (answers us but cannot serve a read: cut off from its peers, or no quorum)',
    ])
    assert.deepEqual(healthChanges(report(null, 2, lost), report('n3', 3, three())).slice(-1), [
      'chainfire member n3 is healthy again: it reached its peers (a partition healed, or quorum came back)',
    ])
  })

  it('a leader that went down is a plain leader change and a member down, hung members are not called crashed', () => {
    const lines = healthChanges(
      report('n1', 2, three()),
      report('n2', 3, [
        member('n1', {reachable: false, healthy: false, error: 'no answer within 1s'}),
        member('n2'),
        member('n3'),
      ]),
    )
    assert.deepEqual(lines, [
      'chainfire leader changed: n1 → n2 (term 2 → 3)',
      'chainfire member n1 is NOT ANSWERING (hung or overloaded: no answer within 1s)',
    ])
  })

  it('a component change names what changed, not only the status', () => {
    const iam = (status: 'ok' | 'crit', message?: string) =>
      [
        {component: 'iam', status, summary: 'IAM', findings: message ? [{status, message}] : [], durationMs: 1},
      ] as HealthReport['components']
    const lines = healthChanges(
      report('n1', 2, three(), iam('ok')),
      report('n1', 2, three(), iam('crit', 'IAM health endpoint refused the connection')),
    )
    assert.deepEqual(lines, ['iam ok → crit: IAM health endpoint refused the connection'])
  })
})
