#!/usr/bin/env node
// Runs test files with node:test, longest first, so that on a 2-core machine the long lab-backed
// files do not end up running alone at the end. `node --test FILES` sorts its files by name; run()
// keeps the order it is given.
//
//   node --import tsx scripts/run-tests.mjs [--concurrency N] [--record LOG] FILE...
//
// The expected durations (seconds per file) are in test/durations.json. A file missing from it runs
// first (it may be long). `--record` rewrites test/durations.json from this run's own timings.
//
// A file that runs longer than --file-timeout (seconds, default 900: four times the longest file)
// is stopped and fails, naming the tests it was in, so that one hung test cannot hold the whole run;
// every 5 minutes the files still running and their current tests are printed (stderr). A file
// ends when its tests and hooks have ended (forceExit), whatever processes they left behind.
import {readFileSync, writeFileSync} from 'node:fs'
import {relative, resolve} from 'node:path'
import {run} from 'node:test'
import {spec} from 'node:test/reporters'

const DURATIONS = resolve(import.meta.dirname, '..', 'test', 'durations.json')

const args = process.argv.slice(2)
let concurrency = 2
let record = false
let fileTimeout = 900
const files = []
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--concurrency') concurrency = Number(args[++i])
  else if (args[i] === '--file-timeout') fileTimeout = Number(args[++i])
  else if (args[i] === '--record') record = true
  else files.push(relative(process.cwd(), resolve(args[i])))
}
if (!Number.isInteger(concurrency) || concurrency < 1 || !(fileTimeout > 0) || files.length === 0) {
  throw new Error('usage: run-tests.mjs [--concurrency N] [--file-timeout SECONDS] [--record] FILE...')
}

let expected = {}
try {
  expected = JSON.parse(readFileSync(DURATIONS, 'utf8'))
} catch {
  // No table yet: every file counts as unknown and runs in the given order.
}
const weight = (f) => expected[f] ?? Number.POSITIVE_INFINITY
const ordered = [...files].sort((a, b) => weight(b) - weight(a))

const measured = {}
// The tests each file is in now (dequeued, not yet passed or failed), by file.
const running = new Map()
const key = (e) => (e.file ? relative(process.cwd(), e.file) : '?')
/** A test or suite inside a file (not the file's own entry). */
const isTest = (e) => e.nesting > 0 || e.name !== key(e)
const inFile = (e) => {
  if (!running.has(key(e))) running.set(key(e), new Map())
  return running.get(key(e))
}
const started = Date.now()
// forceExit: a file ends once its tests and hooks have, even when a process one of them started
// (a command a timed-out test left running) still holds its event loop.
const stream = run({files: ordered, concurrency, timeout: fileTimeout * 1000, forceExit: true})
stream.on('test:dequeue', (e) => {
  if (isTest(e)) inFile(e).set(`${e.nesting}:${e.name}`, e.name)
})
stream.on('test:fail', (e) => {
  process.exitCode = 1
  if (e.details?.error?.failureType === 'testTimeoutFailure' && e.nesting === 0) {
    const tests = [...inFile(e).values()]
    process.stderr.write(`run-tests: ${key(e)} stopped after ${fileTimeout} s, in: ${tests.join(' > ') || '?'}\n`)
  }
  if (isTest(e)) inFile(e).delete(`${e.nesting}:${e.name}`)
})
const progress = setInterval(() => {
  const minutes = Math.round((Date.now() - started) / 60_000)
  for (const [file, tests] of running)
    if (tests.size > 0) process.stderr.write(`run-tests: ${minutes} min: ${file}: ${[...tests.values()].join(' > ')}\n`)
}, 5 * 60_000).unref()
stream.on('test:pass', (e) => {
  if (isTest(e)) inFile(e).delete(`${e.nesting}:${e.name}`)
  // A file's own top-level entry (nesting 0) carries the file's run time.
  if (record && e.nesting === 0 && e.file) {
    const f = relative(process.cwd(), e.file)
    measured[f] = Math.round(((measured[f] ?? 0) + e.details.duration_ms / 1000) * 10) / 10
  }
})
stream.on('end', () => {
  clearInterval(progress)
  if (record)
    writeFileSync(
      DURATIONS,
      JSON.stringify({...expected, ...measured}, Object.keys({...expected, ...measured}).sort(), 2) + '\n',
    )
})
stream.compose(spec).pipe(process.stdout)
