/**
 * Partition drills on a real 3-node lab: each node's sshd (and the member it starts) runs in its own
 * cgroup v2 group; the drill cuts the member's peer traffic with iptables rules matched by that group
 * and by destination, removes them on heal, and the dead-man timer removes them when plasmactl dies.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import {before, describe, it} from 'node:test'
import type {ChainfireClient} from '../../src/adapters/chainfire/index.js'
import {run} from '../../src/adapters/exec/index.js'
import {drillLab} from '../helpers/drill-lab.js'
import {type CliResult, cliCommand, eventually, exitOf, type Lab, REPO_ROOT} from '../helpers/lab.js'

let lab: Lab
let state: string
let client: ChainfireClient

const drill = (args: string[]) => lab.cli(['drill', ...args], {env: {PLASMACTL_STATE_DIR: state}, timeoutMs: 240_000})
const why = (r: CliResult) => `exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`

/** The drill rules of this lab in `iptables -S` (labs of other work trees have other addresses). */
async function labDrillRules(): Promise<string[]> {
  const r = await run('iptables', ['-w', '-S', 'OUTPUT'])
  assert.equal(r.exitCode, 0, r.stderr)
  return r.stdout.split('\n').filter((l) => l.includes('plasmactl-drill:') && l.includes(`${lab.addressPrefix}.`))
}

describe('drill partitions', {concurrency: false}, () => {
  const d = drillLab('drill-part')
  before(() => {
    ;({lab, state, client} = d)
  })

  it("lab up runs each node's member in the node's own cgroup v2 group", async () => {
    for (const n of lab.nodes) {
      const pid = await lab.memberPid(n.name)
      assert.ok(pid, n.name)
      const cg = await readFile(`/proc/${pid}/cgroup`, 'utf8')
      assert.match(cg, new RegExp(`^0::/plasmactl-lab/${n.address.replaceAll('.', '\\.')}$`, 'm'), cg)
    }
  })

  it('partition drills are listed', async () => {
    const r = await drill(['list', '--json'])
    assert.equal(r.exitCode, 0, why(r))
    const names = r.json.data.drills.map((d: {name: string}) => d.name)
    for (const n of ['follower-partition', 'leader-partition', 'client-partition']) assert.ok(names.includes(n), n)
  })

  it('follower peer partition: pass, no acknowledged write lost, the rules gone afterwards', async () => {
    const terms = async () => Promise.all(client.endpoints.map(async (e) => (await client.status(e)).raftTerm))
    const termBefore = Math.max(...(await terms()))
    const r = await drill(['run', 'follower-partition', '--no-snapshot', '--hold', '5', '--json'])
    assert.equal(r.exitCode, 0, why(r))
    const d = r.json.data
    assert.equal(d.verdict, 'pass', why(r))
    assert.equal(d.fault.kind, 'peer-partition')
    assert.equal(d.fault.wasLeader, false)
    // Its dials to the 2 other members' peer ports, and all dials to its own peer port.
    assert.equal(d.fault.rules.length, 3, d.fault.rules.join('\n'))
    assert.ok(d.fault.rules.some((x: string) => x.includes('-m cgroup --path')))
    const m = d.measures
    assert.ok(m.ackedWrites > 0)
    assert.equal(m.lostAckedWrites, 0)
    assert.equal(m.staleReads, 0)
    assert.equal(m.linearizable, true)
    assert.equal(typeof m.rtoSeconds, 'number')
    assert.equal(typeof m.unavailableSeconds, 'number')
    assert.equal(d.recovery.method, 'remove the iptables rules')
    assert.deepEqual(await labDrillRules(), [])
    // The cut was real: the isolated member campaigned, and its higher term forced an election on
    // heal (pre-vote off). A healthy cluster left alone keeps its term.
    const after = await terms()
    assert.ok(
      after.every((t) => t > termBefore),
      `terms ${after.join(', ')} not above ${termBefore}`,
    )
  })

  it('leader peer partition: a new leader within the SLO, pass, the rules gone afterwards', async () => {
    const r = await drill(['run', 'leader-partition', '--no-snapshot', '--hold', '5', '--json'])
    assert.equal(r.exitCode, 0, why(r))
    const d = r.json.data
    assert.equal(d.verdict, 'pass', why(r))
    assert.equal(d.fault.wasLeader, true)
    assert.equal(typeof d.measures.electionSeconds, 'number')
    assert.equal(d.measures.lostAckedWrites, 0)
    assert.equal(d.measures.linearizable, true)
    assert.deepEqual(await labDrillRules(), [])
  })

  it('client partition: clients fail over from the cut member; pass, the rules gone afterwards', async () => {
    const r = await drill(['run', 'client-partition', '--no-snapshot', '--hold', '5', '--json'])
    assert.equal(r.exitCode, 0, why(r))
    const d = r.json.data
    assert.equal(d.verdict, 'pass', why(r))
    assert.equal(d.fault.kind, 'client-partition')
    assert.equal(d.fault.rules.length, 1)
    assert.ok(d.measures.ackedWrites > 0)
    assert.equal(d.measures.lostAckedWrites, 0)
    assert.deepEqual(await labDrillRules(), [])
  })

  it('the dead-man timer removes the rules when plasmactl is killed mid-fault', async () => {
    const hold = 4
    const [cmd, pre] = cliCommand()
    const child = spawn(
      cmd,
      [...pre, 'drill', 'run', 'follower-partition', '--no-snapshot', '--no-recover', '--hold', String(hold), '--json'],
      {
        cwd: REPO_ROOT,
        env: {...process.env, PLASMACTL_CONFIG: lab.configPath, PLASMACTL_STATE_DIR: state},
        stdio: 'ignore',
      },
    )
    const exited = exitOf(child)
    try {
      const rules = await eventually(
        async () => {
          const r = await labDrillRules()
          return r.length === 3 ? r : undefined
        },
        60_000,
        'the partition rules in iptables -S',
      )
      assert.ok(rules.every((x) => x.includes('-j DROP')))
    } finally {
      child.kill('SIGKILL')
      await exited
    }
    // No plasmactl left to heal it: only the timer on the node can.
    assert.equal((await labDrillRules()).length, 3)
    await eventually(
      async () => (await labDrillRules()).length === 0,
      (hold + 20) * 1000,
      'rules removed by the dead-man timer',
    )
  })
})
