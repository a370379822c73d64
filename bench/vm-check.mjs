#!/usr/bin/env node
// Benchmark: cold `plasmactl vm check --json` over 30 VMs on 3 lab hosts (10 real QEMU per host).
// Goal: about as long as the slowest host (one SSH connection per host, QMP queries in parallel),
// not the sum of the hosts. Starts its own lab (`lab up --with vm --vms-per-host 10`) and removes it.
// Usage: node bench/vm-check.mjs   (RUNS=5 VMS_PER_HOST=10)
import {spawnSync} from 'node:child_process'
import {chmodSync, mkdtempSync, rmSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {fmt, median} from './lib.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const bin = `${root}bin/run.js`
const N = Math.max(5, Number(process.env.RUNS ?? 5))
const perHost = Number(process.env.VMS_PER_HOST ?? 10)
const base = mkdtempSync('/tmp/plasmactl-bench-vm-')
chmodSync(base, 0o755)
const env = {...process.env, PLASMACTL_CONFIG: `${base}/config.yaml`, PLASMACTL_STATE_DIR: `${base}/state`}
const cli = (args) => spawnSync('node', [bin, ...args], {env, encoding: 'utf8'})

try {
  const up = cli([
    'lab',
    'up',
    '--dir',
    `${base}/lab`,
    '--address-prefix',
    `127.98.${Math.floor(Math.random() * 200)}`,
    '--with',
    'vm',
    '--vms-per-host',
    String(perHost),
  ])
  if (up.status !== 0) throw new Error(`lab up failed: ${up.stderr}`)
  cli(['vm', 'check', '--json']) // warm the page cache; every measured run is still a cold process
  const runs = []
  for (let i = 0; i < N; i++) {
    const t0 = process.hrtime.bigint()
    const r = cli(['vm', 'check', '--json'])
    const wall = Number(process.hrtime.bigint() - t0) / 1e9
    const data = JSON.parse(r.stdout).data
    if (r.status !== 0) throw new Error(`vm check exited ${r.status}: ${JSON.stringify(data.findings)}`)
    runs.push({
      wall,
      check: data.durationMs / 1000,
      hosts: Object.fromEntries(data.hosts.map((h) => [h.host, h.durationMs / 1000])),
      vms: data.vms.length,
    })
  }
  const hosts = Object.keys(runs[0].hosts)
  const perHostMedian = Object.fromEntries(hosts.map((h) => [h, median(runs.map((r) => r.hosts[h]))]))
  const slowest = Math.max(...Object.values(perHostMedian))
  const sum = Object.values(perHostMedian).reduce((a, b) => a + b, 0)
  console.log(`vm check: ${runs[0].vms} VMs on ${hosts.length} hosts, median of ${N} cold runs`)
  for (const h of hosts)
    console.log(`  host ${h}: ${fmt(perHostMedian[h])} (SSH connect + scan + ${perHost} QMP queries in parallel)`)
  console.log(`  slowest host:             ${fmt(slowest)}`)
  console.log(`  sum of hosts:             ${fmt(sum)}`)
  console.log(`  check (inside the CLI):   ${fmt(median(runs.map((r) => r.check)))}  (records + all hosts in parallel)`)
  console.log(`  total wall (cold process): ${fmt(median(runs.map((r) => r.wall)))}`)
  console.log(`  check / slowest host:     ${(median(runs.map((r) => r.check)) / slowest).toFixed(2)}`)
} finally {
  cli(['lab', 'down', '--dir', `${base}/lab`, '--purge'])
  rmSync(base, {recursive: true, force: true})
}
