#!/usr/bin/env node
// Benchmark: cold `plasmactl health --json` vs the two etcdctl calls an operator would run, cold
// `--help` vs `node -e 0`, and the cost of one --watch refresh vs one `etcdctl endpoint status`.
// Usage: node bench/health.mjs (needs a running lab: the current context of PLASMACTL_CONFIG).
import {fileURLToPath} from 'node:url'
import {fmt, interleaved, median, timeOnce} from './lib.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const bin = `${root}bin/run.js`
const N = Number(process.env.RUNS ?? 10)

const {loadConfig, selectContext} = await import(`${root}dist/config/load.js`)
const {chainfireEndpoints} = await import(`${root}dist/config/context.js`)
const loaded = await loadConfig(process.env.PLASMACTL_CONFIG)
const ctx = selectContext(loaded)
const endpoint = chainfireEndpoints(ctx)[0].url
const etcdctl = (args) => ['etcdctl', `--endpoints=${endpoint}`, ...args]
const env = {ETCDCTL_API: '3'}

const {status, health, ours, node0, help} = interleaved(N, {
  status: () => timeOnce(etcdctl(['endpoint', 'status', '--cluster', '-w', 'json']), {env}),
  health: () => timeOnce(etcdctl(['endpoint', 'health', '--cluster']), {env}),
  ours: () => timeOnce([bin, 'health', '--json'], {allowFail: true}),
  node0: () => timeOnce(['node', '-e', '0']),
  help: () => timeOnce([bin, '--help']),
})

// One --watch refresh: the checker keeps its connections between refreshes.
const {HealthChecker} = await import(`${root}dist/services/health/index.js`)
const checker = new HealthChecker({loaded, ctx, reporter: {info() {}, warn() {}, debug() {}}, timeoutMs: 3000})
await checker.check()
const refresh = []
for (let i = 0; i < N * 3; i++) {
  const t0 = performance.now()
  await checker.check()
  refresh.push((performance.now() - t0) / 1000)
}
checker.close()
const refreshMedian = median(refresh)

console.log(`runs per measurement: ${N} (median, cold processes, taken in interleaved rounds)`)
console.log(`etcdctl endpoint status --cluster -w json   ${fmt(status)}`)
console.log(`etcdctl endpoint health --cluster           ${fmt(health)}`)
console.log(`  both together                             ${fmt(status + health)}`)
console.log(`plasmactl health --json                     ${fmt(ours)}   ratio ${(ours / (status + health)).toFixed(2)}x (goal <= 3x)`)
console.log(`node -e 0                                   ${fmt(node0)}`)
console.log(`plasmactl --help                            ${fmt(help)}   ratio ${(help / node0).toFixed(2)}x (goal <= 2.5x)`)
console.log(`health --watch refresh (in process)         ${fmt(refreshMedian)}   ratio ${(refreshMedian / status).toFixed(2)}x one etcdctl status (goal <= 1.2x)`)
