// The linearizability checker's cost: the largest Jepsen etcd history of the test fixtures, and a
// 100 000-operation register history shaped like a drill's workload (8 clients, sequenced writes,
// compare-and-set and reads over 64 drill keys, 1 % of operations indeterminate), each checked in a
// fresh process so peak RSS is the checker's own. Usage: node bench/linearizability.mjs [ROUNDS]
import {execFileSync} from 'node:child_process'
import {readdirSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

const rounds = Number(process.argv[2] ?? 5)
const fixtures = 'test/fixtures/linearizability/jepsen-etcd'
const largest = readdirSync(fixtures)
  .filter((f) => f.endsWith('.log'))
  .sort((a, b) => statSync(join(fixtures, b)).size - statSync(join(fixtures, a)).size)[0]

// A drill-shaped history: each client works on its own key most of the time and on shared keys
// sometimes; operations overlap in time as real clients' do.
function drillHistory(n) {
  const ops = []
  const value = new Map()
  let t = 0
  for (let i = 0; i < n; i++) {
    const client = i % 8
    const key = `k${(i * 7919) % 64}`
    const call = t
    t += 1 + (i % 3)
    const complete = call + 2 + (i % 5)
    const cur = value.get(key) ?? null
    const kind = i % 10
    if (i % 100 === 99)
      ops.push({key, client, input: {op: 'write', value: `v${i}`}, output: {indeterminate: true}, call, complete})
    else if (kind < 5) {
      value.set(key, `v${i}`)
      ops.push({key, client, input: {op: 'write', value: `v${i}`}, output: {ok: true}, call, complete})
    } else if (kind < 7) {
      const applied = cur !== null
      if (applied) value.set(key, `c${i}`)
      ops.push({
        key,
        client,
        input: {op: 'cas', from: cur ?? 'none', to: `c${i}`},
        output: {ok: true, applied},
        call,
        complete,
      })
    } else ops.push({key, client, input: {op: 'read'}, output: {ok: true, value: cur}, call, complete})
  }
  // Sequential by construction within a key's order of issue; the overlap in time is what the search must untangle.
  return ops
}

const histFile = join(tmpdir(), `plasmactl-bench-history-${process.pid}.json`)
writeFileSync(histFile, JSON.stringify(drillHistory(100_000)))

const runner = (what) => `
import {readFileSync} from 'node:fs'
import {checkLinearizable, parseJepsenRegisterLog} from './dist/services/drill/linearizability.js'
const ops = ${what === 'jepsen' ? `parseJepsenRegisterLog(readFileSync(${JSON.stringify(join(fixtures, largest))}, 'utf8'))` : `JSON.parse(readFileSync(${JSON.stringify(histFile)}, 'utf8'))`}
const t0 = performance.now()
const r = checkLinearizable(ops)
const ms = performance.now() - t0
console.log(JSON.stringify({ops: ops.length, ms, linearizable: r.linearizable, explored: r.explored, rssMiB: process.resourceUsage().maxRSS / 1024}))
`

const results = {jepsen: [], drill: []}
for (let i = 0; i < rounds; i++) {
  for (const what of ['jepsen', 'drill'])
    results[what].push(
      JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', runner(what)], {encoding: 'utf8'})),
    )
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
for (const [what, rs] of Object.entries(results)) {
  console.log(
    `${what === 'jepsen' ? `largest Jepsen history (${largest})` : 'drill-shaped history'}: ${rs[0].ops} ops, linearizable ${rs[0].linearizable}, ` +
      `check ${median(rs.map((r) => r.ms)).toFixed(1)} ms (median of ${rounds}), peak RSS ${median(rs.map((r) => r.rssMiB)).toFixed(0)} MiB, ${rs[0].explored} configurations`,
  )
}
