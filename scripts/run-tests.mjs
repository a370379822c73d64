#!/usr/bin/env node
// Runs test files with node:test, longest first, so that on a 2-core machine the long lab-backed
// files do not end up running alone at the end. `node --test FILES` sorts its files by name; run()
// keeps the order it is given.
//
//   node --import tsx scripts/run-tests.mjs [--concurrency N] [--record LOG] FILE...
//
// The expected durations (seconds per file) are in test/durations.json. A file missing from it runs
// first (it may be long). `--record` rewrites test/durations.json from this run's own timings.
import {readFileSync, writeFileSync} from 'node:fs'
import {relative, resolve} from 'node:path'
import {run} from 'node:test'
import {spec} from 'node:test/reporters'

const DURATIONS = resolve(import.meta.dirname, '..', 'test', 'durations.json')

const args = process.argv.slice(2)
let concurrency = 2
let record = false
const files = []
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--concurrency') concurrency = Number(args[++i])
  else if (args[i] === '--record') record = true
  else files.push(relative(process.cwd(), resolve(args[i])))
}
if (!Number.isInteger(concurrency) || concurrency < 1 || files.length === 0) {
  throw new Error('usage: run-tests.mjs [--concurrency N] [--record] FILE...')
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
const stream = run({files: ordered, concurrency})
stream.on('test:fail', () => {
  process.exitCode = 1
})
stream.on('test:pass', (e) => {
  // A file's own top-level entry (nesting 0) carries the file's run time.
  if (record && e.nesting === 0 && e.file) {
    const f = relative(process.cwd(), e.file)
    measured[f] = Math.round(((measured[f] ?? 0) + e.details.duration_ms / 1000) * 10) / 10
  }
})
stream.on('end', () => {
  if (record)
    writeFileSync(
      DURATIONS,
      JSON.stringify({...expected, ...measured}, Object.keys({...expected, ...measured}).sort(), 2) + '\n',
    )
})
stream.compose(spec).pipe(process.stdout)
