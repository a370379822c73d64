/**
 * One view of every run (`runs list|show|resume`) and Ctrl-C semantics, through the real binary on a
 * real 3-node lab: Ctrl-C at a step prompt and during a step exits 130, journals an abort naming the
 * step and the state left, and the run resumes without any override; named overrides are recorded
 * with who and when; runbook, node and restore runs show up in one list.
 */
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {readFile, rm, writeFile} from 'node:fs/promises'
import {hostname, userInfo} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseDocument} from 'yaml'
import type {ChainfireClient} from '../../src/adapters/chainfire/index.js'
import {eventually, type Lab, startLab} from '../helpers/lab.js'
import {clientOf} from '../helpers/node.js'
import {onTerminal, workDir} from '../helpers/terminal.js'

async function journal(path: string): Promise<{type: string; step?: string; data?: Record<string, unknown>}[]> {
  return (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
}

describe('runs: list, transcript, Ctrl-C and resume across run kinds (real 3-node lab)', () => {
  let lab: Lab
  let client: ChainfireClient
  let work: string
  let env: Record<string, string>
  const me = `${userInfo().username}@${hostname()}`
  const cli = (args: string[], extra: Record<string, string | undefined> = {}) =>
    lab.cli(args, {env: {...env, ...extra}})
  const rb = async (name: string, body: string) => {
    const f = join(work, `${name}.yaml`)
    await writeFile(f, `apiVersion: plasmactl/v1\nkind: Runbook\nmetadata:\n  name: ${name}\n${body}`)
    return f
  }
  const healthy = async () => (await cli(['health', '--json'])).json?.data?.status === 'ok'

  before(async () => {
    lab = await startLab({nodes: 3})
    work = await workDir(lab)
    env = {PLASMACTL_STATE_DIR: join(work, 'state')}
    client = clientOf(lab)
  })

  after(async () => {
    client?.close()
    await lab?.stop()
  })

  it('Ctrl-C at a step prompt of rolling-restart --step: exit 130, abort journaled with the state; runs resume needs no override', async () => {
    const r = await onTerminal(lab, ['runbook', 'run', 'chainfire/rolling-restart', '--step'], env, [
      {when: /step restart\?/, keys: '\r'},
      {when: /step restart@n\d\/stop\?/, keys: '\r'},
      {when: /step restart@n\d\/start\?/, keys: '\u0003'},
    ])
    assert.equal(r.exitCode, 130, r.out)
    assert.doesNotMatch(r.out, /User force closed/)
    const m = /aborted at step (restart@(n\d)\/start): (.*?); resume with: plasmactl runs resume (run-[\w-]+)/.exec(
      r.out,
    )
    assert.ok(m, r.out)
    const [, step, node, state, runId] = m
    assert.match(
      state,
      new RegExp(`${node} is down.*failure tolerance 0`),
      'the state names the stopped member and the tolerance left',
    )
    assert.equal(await lab.memberPid(node), undefined, `${node} was left stopped`)
    const file = join(work, 'state', 'runbooks', `${runId}.jsonl`)
    const j = await journal(file)
    const abort = j.filter((e) => e.type === 'abort')
    assert.equal(abort.length, 1)
    assert.equal(abort[0].step, step)
    assert.equal(abort[0].data?.by, me)
    assert.ok(!j.some((e) => e.type === 'end'), 'an aborted run is not ended')

    const list = await cli(['runs', 'list', '--json'])
    assert.equal(list.exitCode, 0, list.stderr)
    assert.equal(list.json.data.runs.find((x: {id: string}) => x.id === runId)?.state, 'aborted')

    // The run's own stop made "healthy" false: the resume must not refuse on the start precondition.
    const res = await cli(['runs', 'resume', runId, '--yes', '--json'])
    assert.equal(res.exitCode, 0, res.stderr + res.stdout)
    assert.equal(res.json.data.kind, 'runbook')
    assert.equal(res.json.data.result.status, 'succeeded')
    assert.ok(
      res.json.data.result.steps.some(
        (s: {step: string; status: string}) => s.step === `restart@${node}/stop` && s.status === 'completed-before',
      ),
      'the stop is not repeated',
    )
    assert.ok(await lab.memberPid(node), `${node} runs again`)
    const after = await journal(file)
    assert.equal(after.filter((e) => e.type === 'override').length, 0, 'no override was needed')
    assert.equal(after.at(-1)?.type, 'end')
    await eventually(healthy, 60_000, 'cluster healthy after the resumed rolling restart')

    const show = await cli(['runs', 'show', runId])
    assert.equal(show.exitCode, 0, show.stderr)
    assert.match(show.stdout, new RegExp(`ABORTED +${step.replace('/', '\\/')} by ${me}`))
    assert.match(show.stdout, new RegExp(`RESUMED +by ${me}`))
    assert.match(show.stdout, /END +: succeeded/)
  })

  it('Ctrl-C while a step runs: exit 130, the step is recorded as cut, the lock is given back; resume finishes without override', async () => {
    const marker = join(work, 'slow-marker')
    const f = await rb(
      'slow',
      `preconditions:\n  - healthy: true\nsteps:\n  - id: first\n    kind: run\n    on: n1\n    command: "true"\n  - id: slow\n    kind: run\n    on: n1\n    command: if [ -e ${marker} ]; then echo again; else touch ${marker}; sleep 60; fi\n  - id: last\n    kind: run\n    on: n1\n    command: echo last\n`,
    )
    const r = await onTerminal(lab, ['runbook', 'run', f, '--yes'], env, [
      {when: () => existsSync(marker), keys: '\u0003'},
    ])
    assert.equal(r.exitCode, 130, r.out)
    const m = /aborted at step slow: (.*?); resume with: plasmactl runs resume (run-[\w-]+)/.exec(r.out)
    assert.ok(m, r.out)
    assert.match(m[1], /every member is healthy, leader n\d, failure tolerance 1/)
    assert.equal((await client.getPrefix('/plasmactl/locks/cluster')).kvs.length, 0, 'the lease was given back')
    const show = await cli(['runs', 'show', m[2], '--json'])
    const events = show.json.data.entries.map(
      (e: {event: string; step?: string}) => `${e.event}${e.step ? ` ${e.step}` : ''}`,
    )
    assert.deepEqual(events, ['begin', 'ok first', 'in-flight slow', 'abort slow'])
    const res = await cli(['runs', 'resume', m[2], '--yes', '--json'])
    assert.equal(res.exitCode, 0, res.stderr + res.stdout)
    assert.deepEqual(
      res.json.data.result.steps.map((s: {step: string; status: string}) => `${s.step}:${s.status}`),
      ['first:completed-before', 'slow:ok', 'last:ok'],
    )
  })

  it('a named override (--force snapshot) is journaled with who and when and shown in the transcript; a bare --force is no blanket', async () => {
    const f = await rb(
      'wipe',
      `steps:\n  - id: wipe\n    kind: run\n    on: n1\n    destructive: true\n    command: "true"\n`,
    )
    // `lab up` takes a first snapshot into the lab's file target: without it there is none.
    await rm(join(lab.dir, 'snapshots'), {recursive: true, force: true})
    const refused = await cli(['runbook', 'run', f, '--yes'])
    assert.equal(refused.exitCode, 6, refused.stderr)
    assert.match(refused.stderr, /--force snapshot/)
    const blanket = await cli(['runbook', 'run', f, '--yes', '--force'])
    assert.equal(blanket.exitCode, 2, 'a bare --force names no check')
    const wrong = await cli(['runbook', 'run', f, '--yes', '--force', 'quorum'])
    assert.equal(wrong.exitCode, 6, 'overriding quorum does not switch off the snapshot check')
    const r = await cli(['runbook', 'run', f, '--yes', '--force', 'snapshot', '--json'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    const show = await cli(['runs', 'show', r.json.data.runId, '--json'])
    const o = show.json.data.entries.filter((e: {event: string}) => e.event === 'override')
    assert.equal(o.length, 1)
    assert.equal(o[0].by, me)
    assert.equal(o[0].step, 'wipe')
    assert.match(o[0].detail, /--force snapshot: step wipe is destructive and there is no verified snapshot/)
    assert.ok(o[0].ts)
    const text = await cli(['runs', 'show', r.json.data.runId])
    assert.match(text.stdout, new RegExp(`OVERRIDE wipe by ${me}: --force snapshot`))
  })

  it('runs list shows runbook, node and restore runs; resuming a finished restore does nothing and says so', async () => {
    const doc = parseDocument(await readFile(lab.configPath, 'utf8'))
    const idx = (doc.toJS().contexts as {name: string}[]).findIndex((c) => c.name === 'lab')
    doc.setIn(['contexts', idx, 'snapshots'], doc.createNode({targets: [`file://${join(work, 'snapshots')}`]}))
    await writeFile(lab.configPath, doc.toString())
    const quick = await cli([
      'runbook',
      'run',
      await rb('quick', `steps:\n  - id: q\n    kind: run\n    on: n1\n    command: "true"\n`),
      '--yes',
    ])
    assert.equal(quick.exitCode, 0, quick.stderr)
    const save = await cli(['snapshot', 'save', '--json'])
    assert.equal(save.exitCode, 0, save.stderr + save.stdout)
    const restore = await cli(['snapshot', 'restore', save.json.data.name, '--yes', '--json'])
    assert.equal(restore.exitCode, 0, restore.stderr + restore.stdout)
    const restoreId = restore.json.data.runId

    const add = await cli(['lab', 'add-node', 'n4', '--json'])
    assert.equal(add.exitCode, 0, add.stderr + add.stdout)
    const node = await cli(['node', 'add', 'n4', '--yes', '--json'])
    assert.equal(node.exitCode, 0, node.stderr + node.stdout)

    // $USER unset: the operator is still the OS account.
    const list = await cli(['runs', 'list', '--json'], {USER: undefined})
    assert.equal(list.exitCode, 0, list.stderr)
    const runs = list.json.data.runs as {
      id: string
      kind: string
      context: string
      operator: string
      started: string
      state: string
    }[]
    assert.deepEqual([...new Set(runs.map((x) => x.kind))].sort(), ['node', 'restore', 'runbook'])
    for (const x of runs) {
      assert.equal(x.context, 'lab')
      assert.equal(x.operator, me)
      assert.ok(Date.parse(x.started) > 0)
    }
    assert.equal(runs.find((x) => x.id === restoreId)?.state, 'succeeded')
    assert.equal(runs.find((x) => x.id === node.json.data.runId)?.state, 'succeeded')
    const table = await cli(['runs', 'list', '-o', 'wide'])
    assert.match(table.stdout, /^ID +KIND +CONTEXT +OPERATOR +STARTED +STATE +WHAT/)
    assert.match(table.stdout, new RegExp(`${restoreId} +restore +lab +${me}`))
    assert.match(table.stdout, /node-add-\S+ +node +lab .* succeeded +add n4/)

    const revision = (await client.get('/nothing')).header.revision
    const again = await cli(['runs', 'resume', restoreId, '--json'])
    assert.equal(again.exitCode, 0, again.stderr + again.stdout)
    assert.equal(again.json.data.outcome, 'nothing-to-do')
    const text = await cli(['runs', 'resume', restoreId])
    assert.equal(text.exitCode, 0, text.stderr)
    assert.match(text.stderr, /already finished .*; nothing to do/)
    assert.match(text.stdout, /had already finished: nothing to do/)
    const viaRestore = await cli(['snapshot', 'restore', save.json.data.name, '--resume', restoreId, '--yes', '--json'])
    assert.equal(viaRestore.exitCode, 0, viaRestore.stderr + viaRestore.stdout)
    assert.equal(viaRestore.json.data.alreadyFinished, true)
    assert.equal((await client.get('/nothing')).header.revision, revision, 'nothing was restored again')
  })

  it('resuming a restore whose restore step completed but a later step did not finishes it without restoring again', async () => {
    const save = await cli(['snapshot', 'save', '--json'])
    assert.equal(save.exitCode, 0, save.stderr + save.stdout)
    const restore = await cli(['snapshot', 'restore', save.json.data.name, '--yes', '--json'])
    assert.equal(restore.exitCode, 0, restore.stderr + restore.stdout)
    const id = restore.json.data.runId
    // The process died right after the restore step was journaled: the journal ends there.
    const file = join(work, 'state', 'restores', `${id}.jsonl`)
    const events = (await readFile(file, 'utf8')).trim().split('\n')
    const isRestoreEnd = (l: string) => {
      const e = JSON.parse(l) as {type: string; step?: string; ok?: boolean}
      return e.type === 'step-end' && e.step === 'restore' && e.ok === true
    }
    const lastRestore = events.length - 1 - [...events].reverse().findIndex(isRestoreEnd)
    assert.ok(lastRestore > 0 && lastRestore < events.length - 1, 'the restore step is journaled before later steps')
    assert.ok(
      events.slice(lastRestore + 1).some((l) => /"step":"(start|verify|wait-healthy)"/.test(l)),
      'later steps follow it',
    )
    await writeFile(file, `${events.slice(0, lastRestore + 1).join('\n')}\n`)
    // Written after the restore: a second restore would lose it.
    await client.put('/data/after-restore', 'kept')
    const list = await cli(['runs', 'list', '--json'])
    assert.notEqual(list.json.data.runs.find((x: {id: string}) => x.id === id)?.state, 'succeeded')

    const r = await cli(['runs', 'resume', id, '--json'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    for (const step of ['copy', 'stop chainfire', 'move', 'restore the snapshot'])
      assert.match(r.stderr, new RegExp(`skip \\(done earlier in this run\\): ${step} `), step)
    assert.doesNotMatch(r.stderr, /(?<!skip \(done earlier in this run\): )restore the snapshot into/)
    assert.equal((await client.get('/data/after-restore')).kvs[0]?.value.toString(), 'kept', 'not restored again')
    const after = await cli(['runs', 'list', '--json'])
    assert.equal(after.json.data.runs.find((x: {id: string}) => x.id === id)?.state, 'succeeded')
  })
})
