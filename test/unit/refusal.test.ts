import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {renderRefusal} from '../../src/output/refusal.js'
import {refusedPlan} from '../../src/services/node/preflight.js'

describe('a refusal with several reasons', () => {
  const found = [
    ...[1, 2, 3, 4].map((r) => ({
      id: 'flaredb-replicas',
      level: 'refuse' as const,
      message: `region ${r} would keep 2 live replicas`,
    })),
    {id: 'ssh-host-key', level: 'refuse' as const, message: 'n3 refuses its host key', hint: "ssh-keygen -R '[a]:22'"},
    {id: 'vms-running', level: 'refuse' as const, message: 'PlasmaVMC host n3 still runs 1 VM(s) (vm-1)'},
  ]
  const plan = {summary: 'remove n3 (voter)', steps: [{describe: 'stop n3'}, {describe: 'remove the member'}]}

  it('is a list, one reason a line, each override named once (after its last reason), then the plan', () => {
    const err = refusedPlan('refusing to remove n3, nothing was changed', found, plan)
    assert.equal(err.message.split('\n')[0], 'refusing to remove n3, nothing was changed; 6 reasons:')
    const lines = renderRefusal(err.details)
    assert.deepEqual(lines, [
      '  - region 1 would keep 2 live replicas',
      '  - region 2 would keep 2 live replicas',
      '  - region 3 would keep 2 live replicas',
      '  - region 4 would keep 2 live replicas (override: --force flaredb-replicas)',
      "  - n3 refuses its host key (ssh-keygen -R '[a]:22')",
      '  - PlasmaVMC host n3 still runs 1 VM(s) (vm-1) (override: --force vms-running)',
      'refused plan: remove n3 (voter)',
      '   1. stop n3',
      '   2. remove the member',
    ])
    const checks = err.details.checks as {override?: string}[]
    assert.deepEqual(
      checks.map((c) => c.override),
      [...Array(4).fill('--force flaredb-replicas'), undefined, '--force vms-running'],
    )
  })

  it('with one reason is one sentence; only the plan goes under it', () => {
    const err = refusedPlan('refusing to remove n3, nothing was changed', found.slice(5), plan)
    assert.equal(err.message, 'refusing to remove n3, nothing was changed: PlasmaVMC host n3 still runs 1 VM(s) (vm-1)')
    assert.deepEqual(renderRefusal(err.details)[0], 'refused plan: remove n3 (voter)')
  })
})
