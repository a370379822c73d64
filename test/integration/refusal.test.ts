import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {ChainfireClient} from '../../src/adapters/chainfire/index.js'
import {eventually, type Lab, startLab} from '../helpers/lab.js'
import {clientOf, fingerprint, leaderOf} from '../helpers/node.js'

const LOCK_KEY = '/plasmactl/locks/cluster'

/**
 * A refusal with several reasons, through the real binary: n3 is down and another run holds the
 * cluster lock, so removing healthy n2 trips two checks (lock, member-down).
 */
describe('a refusal lists its reasons, one a line, each override once, and the plan it refused (3-node lab)', () => {
  let lab: Lab
  let client: ChainfireClient
  let env: Record<string, string>
  const cli = (args: string[]) => lab.cli(args, {env})

  before(async () => {
    lab = await startLab({nodes: 3})
    env = {PLASMACTL_STATE_DIR: join(lab.dir, '..', 'state')}
    client = clientOf(lab, ['n1', 'n2'])
    await lab.killMember('n3')
    await eventually(async () => (await leaderOf(client)).leader !== null, 60_000, 'a leader among n1, n2')
    const holder = {
      holder: 'alice@ops',
      kind: 'runbook',
      purpose: 'runbook rolling-restart',
      runId: 'runbook-test-1',
      pid: 1,
      host: 'ops-host',
      startedAt: new Date().toISOString(),
    }
    await client.put(LOCK_KEY, JSON.stringify(holder))
  })

  after(async () => {
    await client?.deleteKey(LOCK_KEY).catch(() => undefined)
    client?.close()
    await lab?.stop()
  })

  it('node remove n2: exit 6, both reasons on their own lines, each --force named once, the plan shown; nothing changed', async () => {
    const before = await fingerprint(lab, client, ['n1', 'n2'])
    const r = await cli(['node', 'remove', 'n2', '--yes'])
    assert.equal(r.exitCode, 6, r.stderr + r.stdout)
    const lines = r.stderr.split('\n')
    assert.match(lines[0], /^plasmactl: error: refusing to remove n2, nothing was changed; 2 reasons:$/, r.stderr)
    const reasons = lines.filter((l) => l.startsWith('  - '))
    assert.equal(reasons.length, 2, r.stderr)
    assert.match(reasons[0], /the cluster lock is held by alice@ops .*\(override: --force lock\)$/)
    assert.match(reasons[1], /n3 is already down: removing healthy n2 .*\(override: --force member-down\)$/)
    for (const id of ['lock', 'member-down'])
      assert.equal(r.stderr.split(`--force ${id}`).length - 1, 1, `--force ${id} named once:\n${r.stderr}`)
    const planAt = lines.findIndex((l) => l.startsWith('refused plan: '))
    assert.ok(planAt > lines.indexOf(reasons[1]), `the refused plan follows the reasons:\n${r.stderr}`)
    assert.match(lines[planAt], /n2/)
    assert.match(lines[planAt + 1], /^ {3}1\. /, r.stderr)
    assert.match(r.stderr, /^hint: an override skips only its own check/m)
    assert.equal(r.stdout, '')
    assert.deepEqual(await fingerprint(lab, client, ['n1', 'n2']), before, 'nothing changed')
  })

  it('with --json the error carries the reasons as an array, each with its override, and the plan', async () => {
    const r = await cli(['node', 'remove', 'n2', '--yes', '--json'])
    assert.equal(r.exitCode, 6, r.stderr + r.stdout)
    assert.equal(r.json.error.code, 'REFUSED')
    const checks = r.json.error.details.checks as {id: string; message: string; override?: string}[]
    assert.deepEqual(
      checks.map((c) => [c.id, c.override]),
      [
        ['lock', '--force lock'],
        ['member-down', '--force member-down'],
      ],
    )
    assert.match(checks[1].message, /n3 is already down/)
    const plan = r.json.error.details.plan
    assert.equal(plan.node, 'n2')
    assert.ok(plan.steps.length > 0, JSON.stringify(plan))
  })

  it('overriding one check leaves the other as the one reason: one line, its override in the hint', async () => {
    const r = await cli(['node', 'remove', 'n2', '--yes', '--force', 'lock', '--dry-run'])
    assert.equal(r.exitCode, 6, r.stderr + r.stdout)
    assert.match(r.stderr, /^plasmactl: error: refusing to remove n2, nothing was changed: n3 is already down/)
    assert.doesNotMatch(r.stderr, /^ {2}- /m)
    assert.match(r.stderr, /^refused plan: /m)
    assert.match(r.stderr, /^hint: --force member-down overrides this check/m)
  })
})
