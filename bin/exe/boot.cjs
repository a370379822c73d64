// The main script of the single executable dist/plasmactl (built by scripts/build-exe.mjs). It
// compiles the bundled CLI (SEA asset plasmactl.js) with a V8 code cache (asset plasmactl.cache)
// made at build time after running --help, --version and health: the cache holds every function
// those runs compiled, not only the top level (SEA's own useCodeCache), so a cold start compiles
// next to nothing. Packages only some commands use are chunks (chunk-NAME.js, with their own code
// cache), compiled on their first require. A cache V8 rejects (e.g. other V8 flags from
// NODE_OPTIONS) only costs the compile.
// --help, --version and the like are answered before any of that, from help texts oclif rendered at
// build time (asset help.json, bin/fast-path.js). scripts/build-exe.mjs bundles this file with
// bin/fast-path.js into dist/exe/boot.cjs.
// Building the caches, outside the executable: node dist/exe/boot.cjs DIR write-caches ARGS...
// (node dist/exe/boot.cjs DIR run ARGS... runs the bundle from DIR with its caches, for profiling).
'use strict'
const {isBuiltin} = require('node:module')
const vm = require('node:vm')
const {fastOutput} = require('../fast-path.js')

let sea
try {
  sea = require('node:sea')
} catch {
  sea = undefined
}
let getAsset
let writeCaches = false
if (sea?.isSea()) {
  // getRawAsset (Node ≥ 20.12) is the asset in the executable's own mapped pages: no copy, and pages
  // the kernel maps from the page cache many at a time. Only read, never written.
  getAsset = (name) => Buffer.from(sea.getRawAsset ? sea.getRawAsset(name) : sea.getAsset(name))
} else {
  // node bin/exe/boot.cjs DIR write-caches|run ARGS...: the assets are files in DIR (run: with their caches).
  const [dir, mode] = process.argv.splice(2, 2)
  getAsset = (name) => require('node:fs').readFileSync(require('node:path').join(dir, name))
  if (mode === 'write-caches')
    writeCaches = (name, data) => require('node:fs').writeFileSync(require('node:path').join(dir, name), data)
}

const scripts = new Map()
/** Compiles NAME.js with NAME.cache; the script's value is the function the bundle is wrapped in. */
function compile(name) {
  let cachedData
  try {
    if (!writeCaches) cachedData = getAsset(`${name}.cache`)
  } catch {
    cachedData = undefined
  }
  const script = new vm.Script(getAsset(`${name}.js`).toString('latin1'), {
    filename: `${name}.js`,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  })
  if (process.env.PLASMACTL_EXE_DEBUG)
    process.stderr.write(
      `plasmactl: ${name}: code cache ${!cachedData ? 'absent' : script.cachedDataRejected ? 'rejected' : 'accepted'}\n`,
    )
  scripts.set(name, script)
  return script.runInThisContext()
}

let chunkOf
const chunks = new Map()
function loadChunk(name) {
  if (!chunks.has(name)) {
    const module = {exports: {}}
    compile(`chunk-${name}`)(requireModule, module, module.exports, process.execPath, '/')
    chunks.set(name, module.exports)
  }
  return chunks.get(name)
}

/**
 * Built-ins that the bundle's dependencies require when they load but use on some paths only:
 * readline (oclif: flags read from stdin) and zlib (gRPC: compressed messages). Each is loaded on its
 * first use, so a cold `health` never compiles them. (Others that oclif and gRPC require, such as
 * tls, http, dns and child_process, are loaded at start anyway, by http2 itself or by oclif's
 * platform check: no gain in deferring them.)
 */
const LAZY_BUILTINS = new Set(['readline', 'zlib'])
const lazyBuiltins = new Map()
function lazyBuiltin(id) {
  let proxy = lazyBuiltins.get(id)
  if (proxy) return proxy
  let real
  const load = () => (real ??= require(id))
  proxy = new Proxy(
    {},
    {
      get: (_, key) => Reflect.get(load(), key),
      set: (_, key, value) => Reflect.set(load(), key, value),
      has: (_, key) => Reflect.has(load(), key),
      ownKeys: () => Reflect.ownKeys(load()),
      getOwnPropertyDescriptor: (_, key) => {
        const d = Reflect.getOwnPropertyDescriptor(load(), key)
        // A proxy may not report a property the (empty) target lacks as non-configurable.
        if (d) d.configurable = true
        return d
      },
      defineProperty: (_, key, d) => Reflect.defineProperty(load(), key, d),
      deleteProperty: (_, key) => Reflect.deleteProperty(load(), key),
      getPrototypeOf: () => Reflect.getPrototypeOf(load()),
    },
  )
  lazyBuiltins.set(id, proxy)
  return proxy
}

/** Built-in modules, and the chunks; optional native add-ons (ssh2's) fall back to plain JS. */
function requireModule(id) {
  if (isBuiltin(id)) return LAZY_BUILTINS.has(id.replace(/^node:/, '')) ? lazyBuiltin(id) : require(id)
  chunkOf ??= JSON.parse(getAsset('chunks.json').toString('utf8'))
  if (Object.hasOwn(chunkOf, id)) return loadChunk(chunkOf[id])[id]
  throw Object.assign(new Error(`Cannot find module '${id}' (not bundled into plasmactl)`), {code: 'MODULE_NOT_FOUND'})
}

if (writeCaches) {
  process.on('exit', () => {
    // Every chunk is loaded (its top level run) so that its cache holds that code too.
    for (const name of new Set(Object.values(chunkOf ?? JSON.parse(getAsset('chunks.json').toString('utf8')))))
      loadChunk(name)
    for (const [name, script] of scripts) writeCaches(`${name}.cache`, script.createCachedData())
  })
}
const fast = writeCaches
  ? undefined
  : fastOutput(process.argv.slice(2), () => JSON.parse(getAsset('help.json').toString('utf8')))
if (fast === undefined) {
  compile('plasmactl')(requireModule, process.execPath, getAsset)
  // Snapshot commands stream hundreds of MiB: a young generation that never grows keeps their peak
  // RSS a little lower (bin/run.js starts Node with --max-semi-space-size=1, a flag the executable
  // cannot take; this one V8 reads at each growth; what bounds the peak is the streams' own handling,
  // docs/snapshot-performance.md). Set
  // after the bundle's compile: V8 rejects a code cache made under other flags (the chunks loaded
  // later by these commands compile without theirs).
  if (process.argv.includes('snapshot')) require('node:v8').setFlagsFromString('--semi-space-growth-factor=1')
} else process.stdout.write(fast)
