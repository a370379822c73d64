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

// Runs argv and prints "wall cpu" (seconds) of that child alone: wait4's rusage, in microseconds.
const RUSAGE_PY = `
import os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
sys.stderr.write("\\n@rusage %f %f\\n" % (wall, ru.ru_utime + ru.ru_stime))
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)
`

/**
 * Wall time and CPU time (user + sys) of one run of argv, in seconds: {wall, cpu}, measured around
 * the child alone (a python3 wrapper, whose own start is not counted). Throws if it fails unless allowFail.
 */
export function timeCpuOnce(argv, {env = {}, allowFail = false} = {}) {
  const r = spawnSync('python3', ['-c', RUSAGE_PY, ...argv], {
    env: {...process.env, ...env},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  if (r.status !== 0 && !allowFail) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`)
  const m = /@rusage (\S+) (\S+)\n$/.exec(String(r.stderr))
  if (!m) throw new Error(`${argv.join(' ')}: no timing: ${r.stderr}`)
  return {wall: Number(m[1]), cpu: Number(m[2])}
}

/**
 * Medians of several measurements taken in rounds (one run of each per round), so that a machine
 * getting slower or faster during the benchmark shifts every measurement alike, not one of them.
 */
export function interleaved(n, fns) {
  const runs = Object.fromEntries(Object.keys(fns).map((k) => [k, []]))
  for (const fn of Object.values(fns)) fn() // warm the page cache once
  for (let i = 0; i < n; i++) for (const [k, fn] of Object.entries(fns)) runs[k].push(fn())
  // A measurement is a number, or an object of numbers ({wall, cpu}): the median of each.
  const med = (xs) =>
    typeof xs[0] === 'number'
      ? median(xs)
      : Object.fromEntries(Object.keys(xs[0]).map((f) => [f, median(xs.map((x) => x[f]))]))
  return Object.fromEntries(Object.entries(runs).map(([k, xs]) => [k, med(xs)]))
}

// Runs argv and samples /proc/PID/status every 5 ms while it runs: the peaks of RssAnon (heap,
// buffers) and RssFile (mapped files: the executable, shared libraries), then wait4's exact figures.
const SAMPLE_PY = `
import os, sys, time
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
anon = file = 0
while True:
    done, status, ru = os.wait4(pid, os.WNOHANG)
    if done:
        break
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    anon = max(anon, int(line.split()[1]))
                elif line.startswith("RssFile:"):
                    file = max(file, int(line.split()[1]))
    except OSError:
        pass
    time.sleep(0.005)
wall = time.perf_counter() - t0
sys.stderr.write("\\n@sample %f %f %d %d %d\\n" % (wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, anon, file))
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 1)
`

/**
 * One run of argv with its wall time and CPU (s), peak RSS (KiB, wait4's ru_maxrss: what GNU time's %M
 * reports) and the sampled peaks of its anonymous and file-backed parts (KiB; sampled every 5 ms, so
 * they can miss a peak shorter than that): {wall, cpu, rssKiB, anonKiB, fileKiB}. The sampler is a
 * python3 wrapper whose own start and polling are not counted in the child's CPU.
 */
export function sampleOnce(argv, {env = {}, allowFail = false} = {}) {
  const r = spawnSync('python3', ['-c', SAMPLE_PY, ...argv], {
    env: {...process.env, ...env},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  if (r.status !== 0 && !allowFail) throw new Error(`${argv.join(' ')} exited ${r.status}: ${r.stderr}`)
  const m = /@sample (\S+) (\S+) (\d+) (\d+) (\d+)\n$/.exec(String(r.stderr))
  if (!m) throw new Error(`${argv.join(' ')}: no measurement: ${r.stderr}`)
  return {wall: Number(m[1]), cpu: Number(m[2]), rssKiB: Number(m[3]), anonKiB: Number(m[4]), fileKiB: Number(m[5])}
}

/** Peak RSS (KiB) of a command via GNU time. */
export function peakRssKiB(argv, env = {}) {
  const r = spawnSync('/usr/bin/time', ['-f', '%M', ...argv], {
    env: {...process.env, ...env},
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const lines = String(r.stderr).trim().split('\n')
  return Number(lines.at(-1))
}

export function sh(cmd, env = {}) {
  return execFileSync('bash', ['-c', cmd], {env: {...process.env, ...env}}).toString()
}

export const fmt = (s) => `${(s * 1000).toFixed(0)} ms`

/**
 * The plasmactl binaries to measure: every `--bin PATH` on the command line (the single executable
 * dist/plasmactl, an npm-installed bin, bin/run.js…), else the defaults. Each is {label, argv}.
 */
export function binsFromArgv(defaults) {
  const given = []
  const args = process.argv.slice(2)
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--bin' && args[i + 1]) given.push(args[++i])
    else if (args[i].startsWith('--bin=')) given.push(args[i].slice('--bin='.length))
    else throw new Error(`unknown argument ${args[i]} (usage: --bin PATH, repeatable)`)
  }
  return (given.length > 0 ? given : defaults).map((bin) => ({label: bin, argv: [bin]}))
}
