// The main script of the single executable dist/plasmactl (built by scripts/build-exe.mjs). It
// compiles the bundled CLI (SEA asset plasmactl.js) with a V8 code cache (asset plasmactl.cache)
// made at build time after running --help, --version and health: the cache holds every function
// those runs compiled, not only the top level (SEA's own useCodeCache), so a cold start compiles
// next to nothing. A cache V8 rejects (e.g. other V8 flags from NODE_OPTIONS) only costs the compile.
// Building the cache, outside the executable: node bin/exe/boot.cjs DIR CACHE_OUT ARGS...
'use strict'
const {isBuiltin} = require('node:module')
const vm = require('node:vm')

let sea
try {
  sea = require('node:sea')
} catch {
  sea = undefined
}
let getAsset
let writeCache
if (sea?.isSea()) {
  getAsset = (name) => Buffer.from(sea.getAsset(name))
} else {
  const [dir, cacheOut] = process.argv.splice(2, 2)
  getAsset = (name) => require('node:fs').readFileSync(require('node:path').join(dir, name))
  writeCache = cacheOut
}
let cachedData
try {
  if (!writeCache) cachedData = getAsset('plasmactl.cache')
} catch {
  cachedData = undefined
}

const script = new vm.Script(getAsset('plasmactl.js').toString('latin1'), {
  filename: 'plasmactl.js',
  cachedData,
  importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
})
if (writeCache) process.on('exit', () => require('node:fs').writeFileSync(writeCache, script.createCachedData()))
if (process.env.PLASMACTL_EXE_DEBUG) process.stderr.write(`plasmactl: code cache ${!cachedData ? 'absent' : script.cachedDataRejected ? 'rejected' : 'accepted'}\n`)
// Only built-in modules exist at run time; optional native add-ons (ssh2's) fall back to plain JS.
const requireBuiltin = (id) => {
  if (isBuiltin(id)) return require(id)
  throw Object.assign(new Error(`Cannot find module '${id}' (not bundled into plasmactl)`), {code: 'MODULE_NOT_FOUND'})
}
script.runInThisContext()(requireBuiltin, process.execPath, getAsset)
