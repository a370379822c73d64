import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ChainfireClient} from '../../src/adapters/chainfire/index.js'
import {eventually, type Lab, REPO_ROOT, startLab} from '../helpers/lab.js'

interface WatchLine {
  type: string
  key?: string
  value?: string
  revision?: number
  fromRevision?: number
  compactRevision?: number
  lastRevision?: number
  resumeFrom?: number
}

/** Runs `plasmactl chainfire watch ... --json` as a real process, collecting its NDJSON lines. */
function startWatch(lab: Lab, args: string[]) {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'run.js'), 'chainfire', 'watch', ...args, '--json'], {
    env: {...process.env, PLASMACTL_CONFIG: lab.configPath, PLASMACTL_CONTEXT: ''},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: WatchLine[] = []
  let buf = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    buf += d
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, nl)) as WatchLine)
      buf = buf.slice(nl + 1)
    }
  })
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const closed = new Promise<number>((resolve) => child.on('close', (code, sig) => resolve(code ?? (sig ? 128 : 1))))
  return {
    lines,
    stderr: () => stderr,
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
    client = new ChainfireClient({endpoints: lab.nodes.map((n) => ({name: n.name, url: n.clientUrl})), commandTimeoutMs: 3000})
  })

  after(async () => {
    client?.close()
    await lab?.stop()
  })

  let lastRevision = 0

  it('1000 writes while the member the watch uses is killed: every event exactly once, in order, no gap', async () => {
    const w = startWatch(lab, ['/load/'])
    const connected = await eventually(async () => /connected to (\S+) /.exec(w.stderr()) ?? undefined, 30_000, 'watch connected')
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
    await eventually(async () => w.lines.filter((l) => l.type === 'put').length >= 1000, 60_000, '1000 events delivered')
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
    assert.ok(reconnected.length >= 2 && reconnected.slice(1).every((n) => n !== victim), `reconnected elsewhere: ${reconnected}`)
    const end = w.lines.at(-1)!
    assert.equal(end.type, 'end')
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
    assert.deepEqual(puts.map((p) => [p.key, p.revision]), [['/load/after-1', lastRevision + 1], ['/load/after-2', lastRevision + 2]])
  })

  it('a compacted start revision is reported as a gap, then the watch continues', async () => {
    const first = (await client.put('/gap/a', '1')).header.revision
    await client.put('/gap/b', '2')
    const compactAt = (await client.put('/gap/c', '3')).header.revision
    await client.put('/gap/d', '4')
    await client.compact(compactAt)
    const w = startWatch(lab, ['/gap/', '--from-revision', String(first)])
    await eventually(async () => w.lines.some((l) => l.type === 'put' && l.key === '/gap/d'), 30_000, 'events after the gap')
    const code = await w.interrupt()
    assert.equal(code, 130)
    const gap = w.lines.find((l) => l.type === 'gap')
    assert.ok(gap, `gap reported: ${JSON.stringify(w.lines)}`)
    assert.equal(gap.fromRevision, first)
    assert.equal(gap.compactRevision, compactAt)
    const puts = w.lines.filter((l) => l.type === 'put')
    assert.deepEqual(puts.map((p) => p.key), ['/gap/c', '/gap/d'], 'only what survives compaction, after the gap line')
    assert.ok(w.lines.indexOf(gap) < w.lines.indexOf(puts[0]))
    assert.match(w.stderr(), /compacted: their events are LOST/)
  })
})
