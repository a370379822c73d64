// Shared helpers for the benchmarks: run a command N times cold and report the median.
import {execFileSync, spawnSync} from 'node:child_process'

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Wall time of one run of argv (seconds); throws if it fails unless allowFail. */
export function timeOnce(argv, {env = {}, allowFail = false} = {}) {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(argv[0], argv.slice(1), {env: {...process.env, ...env}, stdio: ['ignore', 'pipe', 'pipe']})
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  if (r.status !== 0 && !allowFail) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`)
  return s
}

/**
 * Medians of several measurements taken in rounds (one run of each per round), so that a machine
 * getting slower or faster during the benchmark shifts every measurement alike, not one of them.
 */
export function interleaved(n, fns) {
  const runs = Object.fromEntries(Object.keys(fns).map((k) => [k, []]))
  for (const fn of Object.values(fns)) fn() // warm the page cache once
  for (let i = 0; i < n; i++) for (const [k, fn] of Object.entries(fns)) runs[k].push(fn())
  return Object.fromEntries(Object.entries(runs).map(([k, xs]) => [k, median(xs)]))
}

/** Peak RSS (KiB) of a command via GNU time. */
export function peakRssKiB(argv, env = {}) {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', ...argv], {env: {...process.env, ...env}, stdio: ['ignore', 'ignore', 'pipe']})
  const lines = String(r.stderr).trim().split('\n')
  return Number(lines.at(-1))
}

export function sh(cmd, env = {}) {
  return execFileSync('bash', ['-c', cmd], {env: {...process.env, ...env}}).toString()
}

export const fmt = (s) => `${(s * 1000).toFixed(0)} ms`
