import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {access, readdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {ChainfireClient} from '../../src/adapters/chainfire/index.js'
import {eventually, exitOf, type Lab, REPO_ROOT, startLab} from '../helpers/lab.js'
import {
  clientOf,
  contextNode,
  journalOf,
  leaderOf,
  memberNames,
  nodeDirEntries,
  setChainfireSetting,
  setContextValue,
} from '../helpers/node.js'

describe('node remove / resume / add / replace against a real 5-node lab', () => {
  let lab: Lab
  let client: ChainfireClient
  let env: Record<string, string>
  let stateDir: string
  const cli = (args: string[]) => lab.cli(args, {env})
  const active = new Set(['n1', 'n2', 'n3', 'n4', 'n5'])

  before(async () => {
    lab = await startLab({nodes: 5})
    stateDir = join(lab.dir, '..', 'state')
    env = {PLASMACTL_STATE_DIR: stateDir}
    // A short lock lease, so a resumed run waits little for the lease of the process that was killed.
    await setChainfireSetting(lab, 'lock-ttl', '3s')
    client = clientOf(lab)
    for (let i = 0; i < 100; i++) await client.put(`/data/k${String(i).padStart(3, '0')}`, `value-${i}`)
  })

  after(async () => {
    client?.close()
    await lab?.stop()
  })

  it('removes a follower: 4 voters remain, failure tolerance 1, warns about the even count; --wipe-data deletes the data', async () => {
    const {leader} = await leaderOf(client)
    const follower = [...active].find((n) => n !== leader)!
    const noConfirm = await cli(['node', 'remove', follower, '--yes', '--wipe-data'])
    assert.equal(noConfirm.exitCode, 6, 'the wipe needs its own confirmation')
    assert.match(noConfirm.stderr, /--confirm-wipe/)
    assert.deepEqual(await memberNames(client), [...active].sort(), 'nothing changed')

    const r = await cli(['node', 'remove', follower, '--yes', '--wipe-data', '--confirm-wipe', follower, '--json'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    active.delete(follower)
    assert.equal(r.json.data.plan.steps[0].step, 'member-remove', 'no leadership transfer for a follower')
    assert.deepEqual(r.json.data.verified, {leader, voters: 4, votersHealthy: 4, failureTolerance: 1})
    assert.ok(r.json.data.warnings.some((w: string) => /4 voters remain: an even count/.test(w)))
    assert.deepEqual(await memberNames(client), [...active].sort())
    assert.equal((await leaderOf(client)).leader, leader, 'the leader stayed')
    const entries = await nodeDirEntries(lab, follower)
    assert.ok(!entries.some((e) => e.startsWith('data')), `data deleted: ${entries.join(' ')}`)
    assert.equal(await lab.memberPid(follower), undefined, 'service stopped')
  })

  it('kill -9 in the middle of a removal, then resume: it finishes without repeating completed steps', async () => {
    const {leader, term} = await leaderOf(client)
    // The leader's stop command waits for a file: the run is killed while that real step is in flight.
    const release = join(lab.dir, '..', `release-stop-${leader}`)
    await setContextValue(lab, ['nodes', leader!, 'services'], {
      chainfire: {stop: `while [ ! -e ${release} ]; do sleep 0.2; done; ${lab.serviceScript(leader!)} chainfire stop`},
    })
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), 'node', 'remove', leader!, '--yes'], {
      env: {...process.env, PLASMACTL_CONFIG: lab.configPath, ...env},
      stdio: 'ignore',
    })
    const exited = exitOf(child)
    const runId = await eventually(
      async () => {
        const files = await readdir(join(stateDir, 'node-runs')).catch(() => [] as string[])
        for (const f of files.filter((x) => x.startsWith('node-remove-'))) {
          const id = f.replace(/\.jsonl$/, '')
          const j = await journalOf(stateDir, id)
          if (j[0]?.data?.node === leader && j.some((e) => e.type === 'step-start' && e.step === 'stop-service'))
            return id
        }
        return undefined
      },
      60_000,
      'member-remove and mark-removed completed, stop-service in flight',
    )
    child.kill('SIGKILL')
    await exited
    await writeFile(release, '')
    active.delete(leader!)
    // Half done: the member is gone and the context says so already; its service is not yet stopped.
    assert.deepEqual(await memberNames(client), [...active].sort())
    assert.equal((await contextNode(lab, leader!))?.removed, true)

    const r = await cli(['node', 'resume', runId, '--json'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    assert.deepEqual(r.json.data.skipped, [
      `transfer-leadership@${leader}`,
      `member-remove@${leader}`,
      `mark-removed@${leader}`,
    ])
    assert.deepEqual(r.json.data.completed, [
      `stop-service@${leader}`,
      `disable-service@${leader}`,
      `move-data@${leader}`,
      'verify',
    ])
    const j = await journalOf(stateDir, runId)
    for (const step of ['transfer-leadership', 'member-remove'])
      assert.equal(j.filter((e) => e.type === 'step-start' && e.step === step).length, 1, `${step} ran once`)
    assert.equal(j.at(-1).type, 'end')
    assert.deepEqual(r.json.data.result.verified, {
      leader: r.json.data.result.verified.leader,
      voters: 3,
      votersHealthy: 3,
      failureTolerance: 1,
    })
    assert.notEqual(r.json.data.result.verified.leader, leader)
    const rest = clientOf(lab, [...active])
    assert.equal((await leaderOf(rest)).term, term + 1, 'one election: the transfer')
    rest.close()
    assert.equal((await contextNode(lab, leader!))?.removed, true)
    assert.equal(await lab.memberPid(leader!), undefined)
    assert.ok((await nodeDirEntries(lab, leader!)).includes(`data.removed-${runId}`))
    // Resuming a finished run changes nothing.
    const again = await cli(['node', 'resume', runId, '--json'])
    assert.equal(again.exitCode, 0, again.stderr)
    assert.equal(again.json.data.completed.length, 0)
  })

  it('replaces a node end to end: keys written before are readable after, the new member is a healthy voter', async () => {
    const add = await cli(['lab', 'add-node', 'n6', '--json'])
    assert.equal(add.exitCode, 0, add.stderr + add.stdout)
    const n6 = add.json.data.node
    lab.nodes.push({name: 'n6', address: n6.address, clientUrl: n6.clientUrl, sshPort: n6.sshPort})
    const old = [...active].sort()[0]
    const dry = await cli(['node', 'replace', old, 'n6', '--dry-run', '--json'])
    assert.equal(dry.exitCode, 0, dry.stderr + dry.stdout)
    assert.equal(dry.json.data.plan.add.votersAfter, 3)
    assert.deepEqual(await memberNames(client), [...active].sort(), 'dry run changed nothing')

    const r = await cli(['node', 'replace', old, 'n6', '--yes', '--json'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    active.delete(old)
    active.add('n6')
    const now = clientOf(lab, [...active])
    const onlyNew = clientOf(lab, ['n6'])
    try {
      assert.deepEqual(await memberNames(now), [...active].sort())
      const members = (await now.memberList()).members
      assert.equal(members.find((m) => m.name === 'n6')?.isLearner, false, 'n6 is a voter')
      const kvs = (await onlyNew.getPrefix('/data/')).kvs
      assert.equal(kvs.length, 100)
      assert.equal(kvs.find((kv) => kv.key.toString() === '/data/k042')?.value.toString(), 'value-42')
      const list = await cli(['node', 'list', '--json'])
      const row = list.json.data.nodes.find((n: {name: string}) => n.name === 'n6')
      assert.equal(row.state, 'active')
      assert.equal(row.chainfire.healthy, true)
      assert.equal(row.chainfire.learner, false)
      assert.equal((await contextNode(lab, old))?.removed, true)
      const health = await cli(['health', '--json'])
      const cf = health.json.data.components.find((c: {component: string}) => c.component === 'chainfire').details
      assert.equal(cf.voters, 3)
      assert.equal(cf.votersHealthy, 3)
      await access(join(lab.dir, 'nodes', old))
      assert.ok(
        (await nodeDirEntries(lab, old)).some((e) => e.startsWith('data.removed-')),
        'the old node keeps its data',
      )
    } finally {
      now.close()
      onlyNew.close()
    }
  })

  it('removes a dead member whose host does not answer over SSH: membership fixed, the rest reported as pending', async () => {
    const probe = clientOf(lab, [...active])
    const {leader} = await leaderOf(probe)
    probe.close()
    const dead = [...active].sort().find((n) => n !== leader)!
    await lab.killMember(dead)
    const sshdPid = Number((await readFile(join(lab.dir, 'nodes', dead, 'sshd', 'sshd.pid'), 'utf8')).trim())
    process.kill(sshdPid, 'SIGKILL')
    await eventually(
      async () => {
        try {
          process.kill(sshdPid, 0)
          return false
        } catch {
          return true
        }
      },
      10_000,
      'sshd gone',
    )
    const r = await cli(['node', 'remove', dead, '--yes', '--json'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    active.delete(dead)
    assert.deepEqual(r.json.data.data, {state: 'left-in-place', path: join(lab.dir, 'nodes', dead, 'data')})
    assert.equal(r.json.data.pending.length, 3)
    assert.match(r.json.data.pending[0], new RegExp(`stop chainfire on ${dead} when it is reachable again`))
    const rest = clientOf(lab, [...active])
    try {
      assert.deepEqual(await memberNames(rest), [...active].sort())
    } finally {
      rest.close()
    }
    assert.equal((await contextNode(lab, dead))?.removed, true)
    assert.ok((await nodeDirEntries(lab, dead)).includes('data'), 'data untouched')
  })
})
