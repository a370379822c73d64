#!/usr/bin/env node
// Benchmark: cold `plasmactl health --json` vs the two etcdctl calls an operator would run (wall and
// CPU time), cold `--help` vs `node -e 0`, and the cost of one --watch refresh vs one `etcdctl
// endpoint status`. Both ways plasmactl is installed are measured side by side: the single
// executable (dist/plasmactl, `npm run build:exe`) and the npm path (PLASMACTL_NPM_BIN, the bin of
// an `npm install -g` of the tarball, as bench/run.sh makes it; else bin/run.js of this checkout).
// Usage: node bench/health.mjs [--bin PATH]... (needs a running lab: the current context of
// PLASMACTL_CONFIG). Each --bin is measured instead of the two defaults.
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {binsFromArgv, fmt, interleaved, median, sh, timeCpuOnce} from './lib.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const exe = `${root}dist/plasmactl`
const npmBin = process.env.PLASMACTL_NPM_BIN ?? `${root}bin/run.js`
const N = Number(process.env.RUNS ?? 10)

const {loadConfig, selectContext} = await import(`${root}dist/config/load.js`)
const {chainfireEndpoints} = await import(`${root}dist/config/context.js`)
const loaded = await loadConfig(process.env.PLASMACTL_CONFIG)
const ctx = selectContext(loaded)
const endpoint = chainfireEndpoints(ctx)[0].url
const etcdctl = (args) => ['etcdctl', `--endpoints=${endpoint}`, ...args]
const env = {ETCDCTL_API: '3'}

const bins = Object.fromEntries(
  binsFromArgv([...(existsSync(exe) ? [exe] : []), npmBin]).map((b) => [b.label, b.argv[0]]),
)
const fns = {
  status: () => timeCpuOnce(etcdctl(['endpoint', 'status', '--cluster', '-w', 'json']), {env}),
  health: () => timeCpuOnce(etcdctl(['endpoint', 'health', '--cluster']), {env}),
  node0: () => timeCpuOnce(['node', '-e', '0']),
}
for (const [name, bin] of Object.entries(bins)) {
  fns[`${name}Health`] = () => timeCpuOnce([bin, 'health', '--json'], {allowFail: true})
  fns[`${name}Help`] = () => timeCpuOnce([bin, '--help'])
}
const load0 = sh('cut -d" " -f1-3 /proc/loadavg').trim()
const m = interleaved(N, fns)
const load1 = sh('cut -d" " -f1-3 /proc/loadavg').trim()

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

const both = {wall: m.status.wall + m.health.wall, cpu: m.status.cpu + m.health.cpu}
const row = (label, x) => `${label.padEnd(46)} ${fmt(x.wall).padStart(8)} wall ${fmt(x.cpu).padStart(8)} CPU`
console.log(
  `runs per measurement: ${N} (median, cold processes, taken in interleaved rounds); load average ${load0} before, ${load1} after`,
)
console.log(row('etcdctl endpoint status --cluster -w json', m.status))
console.log(row('etcdctl endpoint health --cluster', m.health))
console.log(row('  both together', both))
console.log(row('node -e 0', m.node0))
for (const name of Object.keys(bins)) {
  const h = m[`${name}Health`]
  const help = m[`${name}Help`]
  console.log(`${name.replace(root, '')}${name === npmBin ? ' (npm path)' : ''}:`)
  console.log(
    `${row('  plasmactl health --json', h)}   wall ${(h.wall / both.wall).toFixed(2)}x (goal <= 1.5x), CPU ${(h.cpu / both.cpu).toFixed(2)}x (goal <= 3x) the two etcdctl calls`,
  )
  console.log(
    `${row('  plasmactl --help', help)}   wall ${(help.wall / m.node0.wall).toFixed(2)}x node -e 0 (goal <= 1.3x)`,
  )
}
console.log(
  `health --watch refresh (in process)            ${fmt(refreshMedian)}   ratio ${(refreshMedian / m.status.wall).toFixed(2)}x one etcdctl status (goal <= 0.2x)`,
)
