#!/usr/bin/env node
// Benchmark: cold `plasmactl health` with every component configured (ChainFire, FlareDB, IAM,
// PrismNet) vs ChainFire-only health (`--component chainfire`), on a fresh lab started with
// `lab up --with ovn,flaredb,iam`. Runs are interleaved (A, B, A, B …) so background load hits both
// sides alike; reports medians. Goal: full health within 2x ChainFire-only.
// Usage: node bench/components.mjs   (RUNS=7; needs root or a user that can run the lab, and ovn-central)
import {mkdtempSync, chmodSync, rmSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {fmt, interleaved, sh, timeOnce} from './lib.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const bin = `${root}bin/run.js`
const N = Math.max(5, Number(process.env.RUNS ?? 7))
const base = mkdtempSync('/tmp/plasmactl-bench-')
chmodSync(base, 0o755)
const env = {PLASMACTL_CONFIG: `${base}/config.yaml`, PLASMACTL_STATE_DIR: `${base}/state`}
const prefix = `127.98.${Math.floor(Math.random() * 200)}`

try {
  sh(`node ${bin} lab up --dir ${base}/lab --address-prefix ${prefix} --nodes 3 --with ovn,flaredb,iam >/dev/null`, env)
  const full = ['node', bin, 'health', '--json']
  const cfOnly = ['node', bin, 'health', '--json', '--component', 'chainfire']
  const {a: ma, b: mb} = interleaved(N, {a: () => timeOnce(cfOnly, {env}), b: () => timeOnce(full, {env})})
  // What each probe costs inside one run (from the report itself).
  const report = JSON.parse(sh(`node ${bin} health --json`, env)).data
  console.log(`runs per measurement: ${N} (median, cold processes, interleaved)`)
  console.log(`plasmactl health --component chainfire     ${fmt(ma)}`)
  console.log(`plasmactl health (all components)          ${fmt(mb)}   ratio ${(mb / ma).toFixed(2)}x (goal <= 2x)`)
  console.log(
    `  in one full run: ${report.components
      .filter((c) => c.status !== 'skipped')
      .map((c) => `${c.component} ${c.durationMs} ms`)
      .join(', ')}; total ${report.durationMs} ms`,
  )
  console.log(`  load average: ${sh('cut -d" " -f1-3 /proc/loadavg').trim()}`)
} finally {
  try {
    sh(`node ${bin} lab down --dir ${base}/lab --purge >/dev/null 2>&1`, env)
  } finally {
    rmSync(base, {recursive: true, force: true})
  }
}
