#!/usr/bin/env node
// Benchmark: `plasmactl snapshot save` vs `etcdctl snapshot save` from the same member of a cluster
// filled to SIZE_MB (default 512) of values, side by side in ROUNDS interleaved rounds (default 5;
// etcdctl, each --bin, etcdctl, each --bin, … after one warm-up run of each): medians of wall time,
// throughput, CPU (user+sys) and peak RSS, with the peak split into anonymous memory and file-backed
// pages (an executable's own mapped pages count in RSS as etcdctl's binary does). Load average
// before and after.
// Usage: node bench/snapshot.mjs [--bin PATH]... (needs a running lab: the current context of
// PLASMACTL_CONFIG; `bash bench/run.sh snapshot` starts one and passes the executable and the npm
// install); each --bin (default bin/run.js) is measured in the same rounds as etcdctl.
import {mkdtempSync, readdirSync, rmSync, statSync} from 'node:fs'
import {loadavg, tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {binsFromArgv, interleaved, sampleOnce} from './lib.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
// Run as an operator runs the installed `plasmactl`: the executable itself (its first line picks Node flags).
const bins = binsFromArgv([`${root}bin/run.js`])
const ROUNDS = Number(process.env.ROUNDS ?? process.env.RUNS ?? 5)
const SIZE_MB = Number(process.env.SIZE_MB ?? 512)

const {loadConfig, selectContext} = await import(`${root}dist/config/load.js`)
const {chainfireEndpoints} = await import(`${root}dist/config/context.js`)
const {ChainfireClient} = await import(`${root}dist/adapters/chainfire/index.js`)
const loaded = await loadConfig(process.env.PLASMACTL_CONFIG)
const ctx = selectContext(loaded)
const endpoints = chainfireEndpoints(ctx)
const client = new ChainfireClient({endpoints, commandTimeoutMs: 30_000})

async function fillTo(mb) {
  const value = Buffer.alloc(1024 * 1024, 'v')
  const have = (await client.getPrefix('/bench/', {count_only: true})).count
  for (let i = have; i < mb; i++) await client.put(`/bench/${String(i).padStart(6, '0')}`, value)
}

const MiB = 1024 * 1024
/** One save into a fresh directory (removed after): wall, CPU, throughput and memory of that run. */
const once = (argvFor) => () => {
  const dir = mkdtempSync(join(tmpdir(), 'plasmactl-bench-'))
  try {
    const m = sampleOnce(argvFor(join(dir, 'etcdctl.db'), dir), {env: {ETCDCTL_API: '3'}})
    const size = Math.max(
      ...readdirSync(dir)
        .filter((f) => f.endsWith('.db'))
        .map((f) => statSync(join(dir, f)).size),
    )
    return {
      wall: m.wall,
      cpu: m.cpu,
      mbps: size / 1e6 / m.wall,
      rssMiB: m.rssKiB / 1024,
      anonMiB: m.anonKiB / 1024,
      fileMiB: m.fileKiB / 1024,
      sizeBytes: size,
    }
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

const source = endpoints[0]
await fillTo(SIZE_MB)
client.close()
const short = (label) => label.replace(root, '')
const tools = {
  etcdctl: once((out) => ['etcdctl', `--endpoints=${source.url}`, 'snapshot', 'save', out]),
  ...Object.fromEntries(
    bins.map((bin) => [
      short(bin.label),
      once((_out, dir) => [
        ...bin.argv,
        'snapshot',
        'save',
        '--target',
        `file://${dir}`,
        '--log-format',
        'json',
        '--endpoint',
        source.name,
      ]),
    ]),
  ),
}
const loadBefore = loadavg()
const med = interleaved(ROUNDS, tools)
const loadAfter = loadavg()

const la = (l) => l.map((x) => x.toFixed(1)).join(' ')
const e = med.etcdctl
console.log(
  `snapshot save of ${(e.sizeBytes / MiB).toFixed(0)} MiB (${SIZE_MB} MiB of values) from ${source.name}: medians of ${ROUNDS} interleaved rounds; load average ${la(loadBefore)} before, ${la(loadAfter)} after`,
)
for (const [label, r] of Object.entries(med))
  console.log(
    `  ${label.padEnd(28)} ${r.wall.toFixed(2)} s  ${r.mbps.toFixed(0).padStart(4)} MB/s  CPU ${r.cpu.toFixed(2)} s  peak RSS ${r.rssMiB.toFixed(0)} MiB (anon ${r.anonMiB.toFixed(0)} + file ${r.fileMiB.toFixed(0)})` +
      (label === 'etcdctl'
        ? ''
        : `  throughput ${(r.mbps / e.mbps).toFixed(2)}× etcdctl, CPU ${(r.cpu / e.cpu).toFixed(2)}× (goal >= 1.2× at peak < 100 MiB)`),
  )
console.log(JSON.stringify({sizeMb: SIZE_MB, rounds: ROUNDS, loadBefore, loadAfter, medians: med}))
