#!/usr/bin/env node
// Benchmark: would a V8 startup snapshot of the loaded CLI start faster than the single executable's
// code cache? Builds, from dist/exe (npm run build:exe), a snapshot (node --build-snapshot) holding
// the bundle with oclif, the command modules and @grpc/grpc-js initialized, and measures cold runs of
// both side by side (interleaved rounds, medians, wall and CPU): node -e 0; the snapshot deserialized
// with nothing run (SNAP_NOOP=1); --version, --help and health --json of a member that refuses, from
// the code cache (node bin/exe/boot.cjs dist/exe run …) and from the snapshot (node --snapshot-blob …).
//
// The snapshot is a measurement, not a shippable build: to be built at all it needs stand-ins that
// make it wrong at run time — Node 20's snapshot builder cannot load http2/http/https/tls/
// child_process/readline (here lazy stand-ins, http2.constants copied), has no WebAssembly (ssh2's
// init fails: the ssh chunk stays out), cannot hold stdout/stderr handles (here stubs: oclif and
// supports-color then bake "not a TTY, 80 columns, no colour" into module constants), and the
// package root of templates/schemas (module constants from import.meta.url) is only known at run time.
// Usage: node bench/exe-snapshot.mjs   (RUNS=10)
import {mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {constants as http2Constants} from 'node:http2'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {execFileSync} from 'node:child_process'
import {fmt, interleaved, sh, timeCpuOnce} from './lib.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const dir = join(root, 'dist', 'exe')
const N = Number(process.env.RUNS ?? 10)
const work = mkdtempSync(join(tmpdir(), 'plasmactl-snapshot-bench-'))

const SUPPORTED = [
  'assert',
  'buffer',
  'console',
  'constants',
  'crypto',
  'diagnostics_channel',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'net',
  'os',
  'path',
  'path/posix',
  'process',
  'punycode',
  'querystring',
  'stream',
  'stream/promises',
  'string_decoder',
  'timers',
  'timers/promises',
  'tty',
  'url',
  'util',
  'util/types',
  'v8',
  'zlib',
]
const chunkNames = readdirSync(dir)
  .filter((f) => /^chunk-.*\.js$/.test(f))
  .map((f) => f.slice('chunk-'.length, -'.js'.length))
const entry = `'use strict'
const v8 = require('node:v8')
const {isBuiltin} = require('node:module')
const chunkFns = {${chunkNames.map((c) => `${JSON.stringify(c)}: ${readFileSync(join(dir, `chunk-${c}.js`), 'latin1')}`).join(',\n')}}
const chunkOf = ${readFileSync(join(dir, 'chunks.json'), 'utf8')}
const chunks = new Map()
function loadChunk(name) {
  if (!chunks.has(name)) { const module = {exports: {}}; chunkFns[name](requireModule, module, module.exports, process.execPath, '/'); chunks.set(name, module.exports) }
  return chunks.get(name)
}
const SUPPORTED = new Set(${JSON.stringify(SUPPORTED)})
const BUILD_CONSTANTS = {http2: ${JSON.stringify(http2Constants)}}
const lazies = new Map()
/** A built-in the snapshot builder cannot load: required for real on first use after start-up. */
function lazyBuiltin(id) {
  const bare = id.replace(/^node:/, '')
  if (lazies.has(bare)) return lazies.get(bare)
  let real
  const load = () => (real ??= require(id))
  const building = () => v8.startupSnapshot.isBuildingSnapshot()
  const proxy = new Proxy(function () {}, {
    get: (_, k) => {
      if (k === '__esModule') return undefined
      if (!building()) return Reflect.get(load(), k)
      if (k === 'constants' && BUILD_CONSTANTS[bare]) return BUILD_CONSTANTS[bare]
      return function (...a) { return new.target ? Reflect.construct(load()[k], a, new.target) : Reflect.apply(load()[k], this, a) }
    },
    has: (_, k) => Reflect.has(load(), k),
    apply: (_, t, a) => Reflect.apply(load(), t, a),
    construct: (_, a) => Reflect.construct(load(), a),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (_, k) => { const d = Reflect.getOwnPropertyDescriptor(load(), k); if (d) d.configurable = true; return d },
  })
  lazies.set(bare, proxy)
  return proxy
}
function requireModule(id) {
  if (isBuiltin(id)) return !v8.startupSnapshot.isBuildingSnapshot() || SUPPORTED.has(id.replace(/^node:/, '')) ? require(id) : lazyBuiltin(id)
  if (Object.hasOwn(chunkOf, id)) return loadChunk(chunkOf[id])[id]
  throw Object.assign(new Error("Cannot find module '" + id + "' (not bundled into plasmactl)"), {code: 'MODULE_NOT_FOUND'})
}
const getAsset = (name) => require('node:fs').readFileSync(require('node:path').join(${JSON.stringify(dir)}, name))
const stdio = Object.fromEntries(['stdin', 'stdout', 'stderr'].map((k) => [k, Object.getOwnPropertyDescriptor(process, k)]))
for (const [fd, k] of Object.keys(stdio).entries()) Object.defineProperty(process, k, {configurable: true, enumerable: true, get: () => ({fd, isTTY: false, write: () => true, on() { return this }, once() { return this }})})
globalThis.__plasmactlRoot = '/nonexistent-plasmactl-root'
globalThis.__plasmactlSnapshot = {preload: ['health', 'version', 'help']}
;(${readFileSync(join(dir, 'plasmactl.js'), 'latin1').replace(/^const __t0 = performance\.now.*$/m, '')})(requireModule, process.execPath, getAsset)
for (const [k, d] of Object.entries(stdio)) Object.defineProperty(process, k, d)
const main = globalThis.__plasmactlSnapshot.main
delete globalThis.__plasmactlSnapshot
v8.startupSnapshot.setDeserializeMainFunction(() => (process.env.SNAP_NOOP ? undefined : main()))
`
try {
  writeFileSync(join(work, 'entry.js'), entry)
  const blob = join(work, 'snapshot.blob')
  execFileSync(process.execPath, ['--snapshot-blob', blob, '--build-snapshot', join(work, 'entry.js')], {
    stdio: ['ignore', 'ignore', 'ignore'],
  })
  writeFileSync(
    join(work, 'config.yaml'),
    'apiVersion: plasmactl/v1\ncurrent-context: refused\ncontexts:\n  - name: refused\n    environment: lab\n    nodes:\n      - name: n1\n        address: 127.0.0.1\n        roles: [chainfire]\n        chainfire:\n          client-url: http://127.0.0.1:9\n',
  )
  const env = {
    XDG_CACHE_HOME: join(work, 'cache'),
    PLASMACTL_CONFIG: join(work, 'config.yaml'),
    PLASMACTL_STATE_DIR: join(work, 'state'),
    PLASMACTL_CONTEXT: '',
  }
  // The package root the executable extracts on its first run: the code-cache run makes it, both use it.
  const cache = [process.execPath, join(root, 'bin', 'exe', 'boot.cjs'), dir, 'run']
  const snap = [process.execPath, '--snapshot-blob', blob, 'plasmactl']
  const fns = {
    'node -e 0': () => timeCpuOnce([process.execPath, '-e', '0']),
    'snapshot, nothing run': () => timeCpuOnce(snap, {env: {...env, SNAP_NOOP: '1'}}),
  }
  for (const args of [['--version'], ['--help'], ['health', '--json']]) {
    fns[`code cache ${args.join(' ')}`] = () => timeCpuOnce([...cache, ...args], {env, allowFail: true})
    fns[`snapshot   ${args.join(' ')}`] = () => timeCpuOnce([...snap, ...args], {env, allowFail: true})
  }
  const load0 = sh('cut -d" " -f1-3 /proc/loadavg').trim()
  const m = interleaved(N, fns)
  const load1 = sh('cut -d" " -f1-3 /proc/loadavg').trim()
  console.log(
    `snapshot blob ${(readFileSync(blob).length / 2 ** 20).toFixed(1)} MiB; ${N} interleaved rounds, medians; load average ${load0} before, ${load1} after`,
  )
  for (const [k, x] of Object.entries(m))
    console.log(`${k.padEnd(32)} ${fmt(x.wall).padStart(8)} wall ${fmt(x.cpu).padStart(8)} CPU`)
} finally {
  rmSync(work, {recursive: true, force: true})
}
