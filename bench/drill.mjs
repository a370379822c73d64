// A drill's own cost on a healthy lab (the current context of PLASMACTL_CONFIG; bench/run.sh drill
// starts one):
//  1. overhead: write throughput of a plain writer (WRITERS concurrent put loops for SECONDS) alone,
//     and with a drill's workload and monitor running beside it (no fault), in interleaved rounds;
//     the lab's total write rate with the drill (writer + the workload's own writes) against the
//     writer alone says what the drill's recording, watch and probes cost beyond the workload itself.
//  2. the linearizability checker on a history recorded by a drill's workload (OPS operations, 16
//     clients, no pauses), checked in a fresh process: time and peak RSS.
// Usage: node bench/drill.mjs [OPS=100000] [SECONDS=10] [ROUNDS=3]
import {execFileSync} from 'node:child_process'
import {rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {chainfireClientFor} from '../dist/adapters/chainfire/index.js'
import {resolveContext} from '../dist/config/context.js'
import {HealthChecker} from '../dist/services/health/index.js'
import {ClusterMonitor} from '../dist/services/drill/monitor.js'
import {Workload} from '../dist/services/drill/workload.js'

const [targetOps = 100_000, seconds = 10, rounds = 3] = process.argv.slice(2).map(Number)
const WRITERS = 4
const {loaded, ctx} = await resolveContext({})
const client = chainfireClientFor(loaded, ctx, {commandTimeoutMs: 3000})
const silent = {info() {}, warn() {}, debug() {}}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const prefix = `/plasmactl/bench-drill/${process.pid}/`

async function writer(ms) {
  let acks = 0
  const end = Date.now() + ms
  await Promise.all(
    Array.from({length: WRITERS}, async (_, w) => {
      for (let i = 0; Date.now() < end; i++)
        await client.put(`${prefix}w${w}/${i % 1000}`, String(i)).then(
          () => acks++,
          () => undefined,
        )
    }),
  )
  return acks / (ms / 1000)
}

let runs = 0
function drillParts(clients, pauseMs) {
  // Each drill's keys are fresh, as a real drill's (its run id): registers start out absent.
  const keyPrefix = `${prefix}d${++runs}/`
  const t0 = performance.now()
  const now = () => performance.now() - t0
  const checker = new HealthChecker({loaded, ctx, reporter: silent, timeoutMs: 1000, components: ['chainfire']})
  const monitor = new ClusterMonitor(client, checker, now)
  const workload = new Workload({client, prefix: keyPrefix, clients, keys: 8, pauseMs, opTimeoutMs: 2000, now})
  return {checker, monitor, workload}
}

async function withDrill(ms) {
  const {checker, monitor, workload} = drillParts(4, 10)
  const rev = (await client.get(prefix, {count_only: true})).header.revision + 1
  monitor.start()
  workload.start(rev)
  const writes = await writer(ms)
  await workload.stop(5000)
  await monitor.stop()
  checker.close()
  const drillWrites =
    workload.history.filter((o) => o.outcome === 'ok' && o.kind !== 'read' && (o.kind !== 'cas' || o.applied)).length /
    (ms / 1000)
  return {writes, drillWrites}
}

const alone = []
const beside = []
await writer(2000) // warm-up
for (let i = 0; i < rounds; i++) {
  alone.push(await writer(seconds * 1000))
  beside.push(await withDrill(seconds * 1000))
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const a = median(alone)
const w = median(beside.map((b) => b.writes))
const d = median(beside.map((b) => b.drillWrites))
console.log(
  `write throughput (${WRITERS} writers, ${seconds}s, median of ${rounds}): alone ${a.toFixed(0)}/s; with a drill's workload and monitor ${w.toFixed(0)}/s + the workload's own ${d.toFixed(0)}/s = ${(w + d).toFixed(0)}/s (${(((w + d) / a - 1) * 100).toFixed(1)} % vs alone)`,
)

// A history recorded by a drill's workload, then checked in a fresh process.
const {workload} = drillParts(16, 0)
const t0 = Date.now()
workload.start((await client.get(prefix, {count_only: true})).header.revision + 1)
while (workload.history.length < targetOps && Date.now() - t0 < 900_000) await sleep(500)
await workload.stop(5000)
const recordSeconds = (Date.now() - t0) / 1000
const histFile = join(tmpdir(), `plasmactl-bench-drill-history-${process.pid}.json`)
writeFileSync(histFile, JSON.stringify(workload.history))
await client.deletePrefix(prefix)
client.close()
const out = execFileSync(
  process.execPath,
  [
    '--input-type=module',
    '-e',
    `import {readFileSync} from 'node:fs'
import {registerHistory} from './dist/services/drill/analyze.js'
import {checkLinearizable} from './dist/services/drill/linearizability.js'
const ops = JSON.parse(readFileSync(${JSON.stringify(histFile)}, 'utf8'))
const t0 = performance.now()
const r = checkLinearizable(registerHistory(ops))
console.log(JSON.stringify({ops: ops.length, ms: performance.now() - t0, linearizable: r.linearizable, explored: r.explored, rssMiB: process.resourceUsage().maxRSS / 1024}))`,
  ],
  {encoding: 'utf8'},
)
rmSync(histFile, {force: true})
const r = JSON.parse(out)
console.log(
  `checker on a drill-recorded history: ${r.ops} ops (recorded in ${recordSeconds.toFixed(0)} s by 16 clients), linearizable ${r.linearizable}, check ${r.ms.toFixed(0)} ms, peak RSS ${r.rssMiB.toFixed(0)} MiB, ${r.explored} configurations`,
)
