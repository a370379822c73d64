import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ChainfireClient} from '../../src/adapters/chainfire/index.js'
import {eventually, exitOf, type Lab, REPO_ROOT, startLab} from '../helpers/lab.js'

interface WatchLine {
  type: string
  status?: string
  key?: string
  value?: string
  revision?: number
  fromRevision?: number
  compactRevision?: number
  lastRevision?: number
  resumeFrom?: number
}

interface Envelope {
  ok: boolean
  exitCode: number
  status: string
  data?: WatchLine
  error?: {code: string; message: string}
  warnings: string[]
}

/** Runs `plasmactl chainfire watch ... --json` as a real process, collecting its lines: one envelope each. */
function startWatch(lab: Lab, args: string[]) {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), 'chainfire', 'watch', ...args, '--json'], {
    env: {...process.env, PLASMACTL_CONFIG: lab.configPath, PLASMACTL_CONTEXT: ''},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: WatchLine[] = []
  const envelopes: Envelope[] = []
  let buf = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const env = JSON.parse(buf.slice(0, nl)) as Envelope
      envelopes.push(env)
      if (env.data) lines.push(env.data)
      buf = buf.slice(nl + 1)
    }
  })
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const closed = exitOf(child).then((e) => e.code ?? (e.signal ? 128 : 1))
  return {
    lines,
    envelopes,
    stderr: () => stderr,
    closed,
    /** Ctrl-C, then the exit code. */
    async interrupt(): Promise<number> {
      child.kill('SIGINT')
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000)
      const code = await closed
      clearTimeout(t)
      return code
    },
  }
}

describe('chainfire watch against a real 3-node lab', () => {
  let lab: Lab
  let client: ChainfireClient

  before(async () => {
    lab = await startLab({nodes: 3})
    client = new ChainfireClient({
      endpoints: lab.nodes.map((n) => ({name: n.name, url: n.clientUrl})),
      commandTimeoutMs: 3000,
    })
  })

  after(async () => {
    client?.close()
    await lab?.stop()
  })

  let lastRevision = 0

  it('1000 writes while the member the watch uses is killed: every event exactly once, in order, no gap', async () => {
    const w = startWatch(lab, ['/load/'])
    const connected = await eventually(
      async () => /connected to (\S+) /.exec(w.stderr()) ?? undefined,
      30_000,
      'watch connected',
    )
    const victim = connected[1]
    const pad = (i: number) => String(i).padStart(4, '0')
    // put-if-absent, retried until it is known to be there: a retry never writes a key twice.
    const putOnce = async (key: string, value: string) => {
      for (let attempt = 0; ; attempt++) {
        try {
          await client.putIfAbsent(key, value)
          return
        } catch (error) {
          if (attempt > 100) throw error
          await new Promise((r) => setTimeout(r, 100))
        }
      }
    }
    let kill: Promise<void> | undefined
    for (let i = 0; i < 1000; i++) {
      if (i === 300) kill = lab.killMember(victim)
      await putOnce(`/load/${pad(i)}`, String(i))
    }
    await kill
    await eventually(
      async () => w.lines.filter((l) => l.type === 'put').length >= 1000,
      60_000,
      '1000 events delivered',
    )
    // Give a duplicate the chance to show up before stopping.
    await new Promise((r) => setTimeout(r, 500))
    const code = await w.interrupt()
    assert.equal(code, 130, w.stderr())
    const puts = w.lines.filter((l) => l.type === 'put')
    assert.equal(puts.length, 1000, 'exactly once')
    puts.forEach((p, i) => {
      assert.equal(p.key, `/load/${pad(i)}`, `event ${i} in order`)
      assert.equal(p.value, String(i))
      if (i > 0) assert.equal(p.revision, puts[i - 1].revision! + 1, `no gap and no duplicate at event ${i}`)
    })
    assert.equal(w.lines.filter((l) => l.type === 'gap').length, 0)
    assert.match(w.stderr(), new RegExp(`lost ${victim} `), 'the watch saw its member go away')
    const reconnected = [...w.stderr().matchAll(/connected to (\S+) /g)].map((m) => m[1])
    assert.ok(
      reconnected.length >= 2 && reconnected.slice(1).every((n) => n !== victim),
      `reconnected elsewhere: ${reconnected}`,
    )
    const end = w.lines.at(-1)!
    assert.equal(end.type, 'end')
    // One envelope per line: every event ok, the last one carries the exit code of the Ctrl-C.
    assert.ok(w.envelopes.slice(0, -1).every((e) => e.ok && e.exitCode === 0 && e.status === 'ok'))
    assert.deepEqual([w.envelopes.at(-1)!.exitCode, w.envelopes.at(-1)!.status], [130, 'interrupted'])
    // The lost member was a warning: it rides on the next envelope and is a JSON line on stderr.
    assert.ok(
      w.envelopes.some((e) => e.warnings.some((m) => m.includes(`lost ${victim} `))),
      'reconnect warning in an envelope',
    )
    const logLines = w
      .stderr()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as {level: string; msg: string})
    assert.ok(logLines.some((l) => l.level === 'warn' && l.msg.includes(`lost ${victim} `)))
    assert.equal(end.lastRevision, puts.at(-1)!.revision)
    assert.equal(end.resumeFrom, puts.at(-1)!.revision! + 1)
    assert.match(w.stderr(), new RegExp(`resume with --from-revision ${end.resumeFrom}`))
    lastRevision = end.lastRevision!
    await lab.startMember(victim)
  })

  it('--from-revision resumes exactly after the last delivered revision', async () => {
    assert.ok(lastRevision > 0)
    await client.put('/load/after-1', 'a')
    await client.put('/load/after-2', 'b')
    const w = startWatch(lab, ['/load/', '--from-revision', String(lastRevision + 1)])
    await eventually(async () => w.lines.filter((l) => l.type === 'put').length >= 2, 30_000, 'resumed events')
    await new Promise((r) => setTimeout(r, 300))
    await w.interrupt()
    const puts = w.lines.filter((l) => l.type === 'put')
    assert.deepEqual(
      puts.map((p) => [p.key, p.revision]),
      [
        ['/load/after-1', lastRevision + 1],
        ['/load/after-2', lastRevision + 2],
      ],
    )
  })

  it('a compacted start revision is reported as a gap, then the watch continues', async () => {
    const first = (await client.put('/gap/a', '1')).header.revision
    await client.put('/gap/b', '2')
    const compactAt = (await client.put('/gap/c', '3')).header.revision
    await client.put('/gap/d', '4')
    await client.compact(compactAt)
    const w = startWatch(lab, ['/gap/', '--from-revision', String(first)])
    await eventually(
      async () => w.lines.some((l) => l.type === 'put' && l.key === '/gap/d'),
      30_000,
      'events after the gap',
    )
    const code = await w.interrupt()
    // Lost events are a failure (3) that the Ctrl-C ending the watch does not hide.
    assert.equal(code, 3, w.stderr())
    assert.deepEqual(
      [w.envelopes.at(-1)!.exitCode, w.envelopes.at(-1)!.status, w.lines.at(-1)!.type],
      [3, 'gap', 'end'],
    )
    const gapEnvelope = w.envelopes.find((e) => e.data?.type === 'gap')!
    assert.equal(gapEnvelope.status, 'gap')
    assert.match(gapEnvelope.warnings.join('\n'), /compacted: their events are LOST/)
    const gap = w.lines.find((l) => l.type === 'gap')
    assert.ok(gap, `gap reported: ${JSON.stringify(w.lines)}`)
    assert.equal(gap.fromRevision, first)
    assert.equal(gap.compactRevision, compactAt)
    const puts = w.lines.filter((l) => l.type === 'put')
    assert.deepEqual(
      puts.map((p) => p.key),
      ['/gap/c', '/gap/d'],
      'only what survives compaction, after the gap line',
    )
    assert.ok(w.lines.indexOf(gap) < w.lines.indexOf(puts[0]))
    assert.match(w.stderr(), /compacted: their events are LOST/)
  })

  it('an error under --json is one envelope line, not plain text', async () => {
    const w = startWatch(lab, ['/x/', '--context', 'nope'])
    const code = await w.closed
    assert.equal(code, 2, w.stderr())
    assert.equal(w.envelopes.length, 1)
    assert.equal(w.envelopes[0].ok, false)
    assert.equal(w.envelopes[0].error!.code, 'USAGE')
    assert.match(w.envelopes[0].error!.message, /nope/)
  })
})
