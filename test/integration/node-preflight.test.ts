import assert from 'node:assert/strict'
import {readdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {ChainfireClient} from '../../src/adapters/chainfire/index.js'
import {type Lab, startLab} from '../helpers/lab.js'
import {clientOf, contextNode, fingerprint, journalOf, memberNames, setContextValue} from '../helpers/node.js'

/** Gives NODE's known_hosts entry the host key of OTHER (what a re-keyed or impostor host looks like); returns the undo. */
async function changeHostKey(lab: Lab, node: string, other: string): Promise<() => Promise<void>> {
  const file = join(lab.dir, 'ssh', 'known_hosts')
  const text = await readFile(file, 'utf8')
  const lines = text.split('\n')
  const entry = (name: string) => lines.findIndex((l) => l.endsWith(` ${name}`))
  const [, , otherKey] = lines[entry(other)].split(' ')
  const at = entry(node)
  const fields = lines[at].split(' ')
  fields[2] = otherKey
  lines[at] = fields.join(' ')
  await writeFile(file, lines.join('\n'))
  return () => writeFile(file, text)
}

async function runIds(stateDir: string): Promise<string[]> {
  return (await readdir(join(stateDir, 'node-runs')).catch(() => [] as string[]))
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => f.replace(/\.jsonl$/, ''))
}

describe('node operations check every host before their first change (3-node lab)', () => {
  let lab: Lab
  let client: ChainfireClient
  let env: Record<string, string>
  let stateDir: string
  const cli = (args: string[]) => lab.cli(args, {env})
  const all = ['n1', 'n2', 'n3']

  before(async () => {
    lab = await startLab({nodes: 3})
    stateDir = join(lab.dir, '..', 'state')
    env = {PLASMACTL_STATE_DIR: stateDir}
    client = clientOf(lab)
    const add = await cli(['lab', 'add-node', 'n4', '--json'])
    assert.equal(add.exitCode, 0, add.stderr + add.stdout)
    const n4 = add.json.data.node
    lab.nodes.push({name: 'n4', address: n4.address, clientUrl: n4.clientUrl, sshPort: n4.sshPort})
  })

  after(async () => {
    client?.close()
    await lab?.stop()
  })

  it('node remove n2 with a changed host key for n2: exit 6, the member list and the context unchanged', async () => {
    const undo = await changeHostKey(lab, 'n2', 'n1')
    try {
      const before = await fingerprint(lab, client, all)
      const r = await cli(['node', 'remove', 'n2', '--yes', '--json'])
      assert.equal(r.exitCode, 6, r.stderr + r.stdout)
      assert.deepEqual(await fingerprint(lab, client, all), before)
      assert.deepEqual(before.members, all)
      assert.equal((await contextNode(lab, 'n2'))?.removed, undefined)
      assert.equal(r.json.error.code, 'REFUSED')
      assert.match(
        r.json.error.message,
        /refusing to remove n2, nothing was changed: n2 refuses its host key: host key for .* has CHANGED/,
      )
      assert.match(r.json.error.hint, /ssh-keygen -R/)
      assert.doesNotMatch(r.json.error.hint, /--force ssh/, 'a changed host key has no override')
      assert.deepEqual(await runIds(stateDir), [], 'no run was started')
    } finally {
      await undo()
    }
  })

  it('node replace n2 n4 with a changed host key for n2 (the node removed first): exit 6, nothing changed', async () => {
    const undo = await changeHostKey(lab, 'n2', 'n3')
    try {
      const before = await fingerprint(lab, client, all)
      const r = await cli(['node', 'replace', 'n2', 'n4', '--yes', '--json'])
      assert.equal(r.exitCode, 6, r.stderr + r.stdout)
      assert.deepEqual(await fingerprint(lab, client, all), before)
      assert.match(r.json.error.message, /refusing to replace n2 by n4, nothing was changed: n2 refuses its host key/)
      assert.equal((await contextNode(lab, 'n2'))?.removed, undefined)
      assert.equal(await lab.memberPid('n4'), undefined)
    } finally {
      await undo()
    }
  })

  it('node add n4 whose join settings cannot be written: exit 6 before the learner is added', async () => {
    const envFile = ((await contextNode(lab, 'n4')) as unknown as {chainfire: Record<string, string>}).chainfire[
      'env-file'
    ]
    // The env file's nearest existing directory is /etc, which the lab user cannot write.
    await setContextValue(lab, ['nodes', 'n4', 'chainfire', 'env-file'], '/etc/plasmactl-preflight-test/chainfire.env')
    try {
      const before = await fingerprint(lab, client, all)
      const r = await cli(['node', 'add', 'n4', '--yes', '--json'])
      assert.equal(r.exitCode, 6, r.stderr + r.stdout)
      assert.match(
        r.json.error.message,
        /refusing to add n4, nothing was changed: n4: \/etc\/plasmactl-preflight-test\/chainfire.env cannot be written by the SSH user/,
      )
      assert.deepEqual(await fingerprint(lab, client, all), before)
      assert.equal(await lab.memberPid('n4'), undefined)
    } finally {
      await setContextValue(lab, ['nodes', 'n4', 'chainfire', 'env-file'], envFile)
    }
  })

  it('node remove n2 when its service commands use sudo and sudo wants a password: exit 6, nothing changed', async (t) => {
    if ((await lab.sshExec('n2', 'sudo -n true')).exitCode === 0)
      return t.skip('the lab user has passwordless sudo here')
    await setContextValue(lab, ['nodes', 'n2', 'ssh'], {sudo: true})
    try {
      const before = await fingerprint(lab, client, all)
      const r = await cli(['node', 'remove', 'n2', '--yes', '--json'])
      assert.equal(r.exitCode, 6, r.stderr + r.stdout)
      assert.deepEqual(await fingerprint(lab, client, all), before)
      assert.equal((await contextNode(lab, 'n2'))?.removed, undefined)
      assert.match(r.json.error.message, /refusing to remove n2, nothing was changed: n2: sudo wants a password/)
    } finally {
      await setContextValue(lab, ['nodes', 'n2', 'ssh'], undefined)
    }
  })

  it('a step that fails after the member removal leaves the context true (n2 marked removed); the resume finishes', async () => {
    // n2's service commands fail (stop, kill) and report it still active: the stop step fails after the removal.
    await setContextValue(lab, ['nodes', 'n2', 'services'], {
      chainfire: {stop: 'false', kill: 'false', 'is-active': 'true'},
    })
    const r = await cli(['node', 'remove', 'n2', '--yes', '--json'])
    assert.equal(r.exitCode, 3, r.stderr + r.stdout)
    assert.match(r.json.error.message, /n2: `false` failed/)
    assert.deepEqual(await memberNames(client), ['n1', 'n3'])
    assert.equal((await contextNode(lab, 'n2'))?.removed, true, 'the context follows the membership change at once')
    const [runId] = await runIds(stateDir)
    const j = await journalOf(stateDir, runId)
    assert.deepEqual(
      // (n2 may lead at this point: its leadership transfer comes first then.)
      j.filter((e) => e.type === 'step-end' && e.step !== 'transfer-leadership').map((e) => [e.step, e.ok]),
      [
        ['member-remove', true],
        ['mark-removed', true],
        ['stop-service', false],
      ],
    )
    const list = await cli(['node', 'list', '--json'])
    assert.equal(list.json.data.nodes.find((n: {name: string}) => n.name === 'n2').state, 'removed')

    await setContextValue(lab, ['nodes', 'n2', 'services'], undefined)
    const resumed = await cli(['node', 'resume', runId, '--json'])
    assert.equal(resumed.exitCode, 0, resumed.stderr + resumed.stdout)
    assert.deepEqual(
      resumed.json.data.skipped.filter((k: string) => k !== 'transfer-leadership@n2'),
      ['member-remove@n2', 'mark-removed@n2'],
    )
    assert.deepEqual(resumed.json.data.completed, ['stop-service@n2', 'disable-service@n2', 'move-data@n2', 'verify'])
    assert.deepEqual(resumed.json.data.result.verified, {
      leader: resumed.json.data.result.verified.leader,
      voters: 2,
      votersHealthy: 2,
      failureTolerance: 0,
    })
    assert.equal(await lab.memberPid('n2'), undefined)
  })
})

describe('node remove on 5 nodes with two down (5-node lab)', () => {
  let lab: Lab
  let env: Record<string, string>
  const cli = (args: string[]) => lab.cli(args, {env})

  before(async () => {
    lab = await startLab({nodes: 5})
    env = {PLASMACTL_STATE_DIR: join(lab.dir, '..', 'state')}
  })

  after(async () => {
    await lab?.stop()
  })

  it('n4 and n5 down, remove n4: exit 0, the member is gone, the context marks it removed, n5 is reported still down', async () => {
    // n5 leads when it is killed: the removal starts while the others elect, which is no quorum loss.
    const moved = await cli(['chainfire', 'move-leader', '--to', 'n5', '--json'])
    assert.equal(moved.exitCode, 0, moved.stderr + moved.stdout)
    await lab.killMember('n4')
    await lab.killMember('n5')
    const r = await cli(['node', 'remove', 'n4', '--yes', '--timeout', '20s', '--json'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    assert.match(r.json.data.plan.summary, /4 voters remain \(3 healthy, 3 needed\), failure tolerance 0/)
    assert.deepEqual(r.json.data.verified, {
      leader: r.json.data.verified.leader,
      voters: 4,
      votersHealthy: 3,
      failureTolerance: 0,
      stillDown: ['n5'],
    })
    assert.ok(
      r.json.data.warnings.some((w: string) => /n5 was down before the removal and still is/.test(w)),
      r.json.data.warnings.join('\n'),
    )
    const rest = clientOf(lab, ['n1', 'n2', 'n3'])
    try {
      assert.deepEqual(await memberNames(rest), ['n1', 'n2', 'n3', 'n5'])
    } finally {
      rest.close()
    }
    assert.equal((await contextNode(lab, 'n4'))?.removed, true)
    assert.equal((await contextNode(lab, 'n5'))?.removed, undefined)
    const human = await cli(['node', 'list'])
    assert.match(human.stdout, /n4 .* removed/)
  })
})
