#!/usr/bin/env node
// Benchmark: `plasmactl snapshot save` vs `etcdctl snapshot save` on the same cluster, at SIZE_MB and
// at twice that: median throughput of RUNS runs each, and peak RSS (GNU time).
// Usage: node bench/snapshot.mjs [--bin PATH]... (needs a running lab: the current context of
// PLASMACTL_CONFIG); each --bin (default bin/run.js) is measured against the same etcdctl runs.
import {mkdtempSync, readdirSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {binsFromArgv, median, peakRssKiB, timeOnce} from './lib.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
// Run as an operator runs the installed `plasmactl`: the executable itself (its first line picks Node flags).
const bins = binsFromArgv([`${root}bin/run.js`])
const RUNS = Number(process.env.RUNS ?? 5)
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

/** Runs the save RUNS times (after one warm-up), each into a fresh directory that is removed after. */
function measure(label, argvFor) {
  const secs = []
  let size = 0
  const once = (record) => {
    const dir = mkdtempSync(join(tmpdir(), 'plasmactl-bench-'))
    try {
      const s = timeOnce(argvFor(join(dir, 'etcdctl.db'), dir), {env: {ETCDCTL_API: '3'}})
      size = Math.max(
        ...readdirSync(dir)
          .filter((f) => f.endsWith('.db'))
          .map((f) => statSync(join(dir, f)).size),
      )
      if (record) secs.push(s)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  }
  once(false) // warms the member's page cache, for both tools alike
  for (let i = 0; i < RUNS; i++) once(true)
  const dir = mkdtempSync(join(tmpdir(), 'plasmactl-bench-'))
  let rss
  try {
    rss = peakRssKiB(argvFor(join(dir, 'etcdctl.db'), dir), {ETCDCTL_API: '3'}) / 1024
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
  const t = median(secs)
  return {label, seconds: t, mbps: size / 1e6 / t, sizeBytes: size, rss}
}

const source = endpoints[0].url
const results = []
for (const mb of [SIZE_MB, SIZE_MB * 2]) {
  await fillTo(mb)
  const etcdctl = measure(`etcdctl snapshot save (${mb} MiB)`, (out) => [
    'etcdctl',
    `--endpoints=${source}`,
    'snapshot',
    'save',
    out,
  ])
  results.push(etcdctl)
  for (const bin of bins) {
    const ours = measure(`${bin.label} snapshot save (${mb} MiB)`, (_out, dir) => [
      ...bin.argv,
      'snapshot',
      'save',
      '--target',
      `file://${dir}`,
      '--log-format',
      'json',
      '--endpoint',
      endpoints[0].name,
    ])
    results.push(ours)
    console.log(
      `${mb} MiB: etcdctl ${etcdctl.mbps.toFixed(0)} MB/s peak ${etcdctl.rss.toFixed(0)} MiB | ${bin.label.replace(root, '')} ${ours.mbps.toFixed(0)} MB/s peak ${ours.rss.toFixed(0)} MiB | throughput ratio ${(ours.mbps / etcdctl.mbps).toFixed(2)}x (goal >= 1.2x at peak < 100 MiB)`,
    )
  }
}
client.close()
console.log(JSON.stringify(results))
