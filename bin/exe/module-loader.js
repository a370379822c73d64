// Stands in for @oclif/core's module-loader inside the single executable (scripts/build-exe.mjs swaps
// it in): oclif asks for files under the package root (the explicit command target, hooks), and gets
// the modules bundled into the executable, initialized on first use, instead of import() from disk.
import {isAbsolute, join, relative, sep} from 'node:path'
import {modules} from 'plasmactl:modules'

class ModuleLoadError extends Error {
  code = 'MODULE_NOT_FOUND'
  constructor(message) {
    super(`[MODULE_NOT_FOUND] ${message}`)
    this.name = 'ModuleLoadError'
  }
}

function find(root, modulePath) {
  const abs = isAbsolute(modulePath) ? modulePath : join(root, modulePath)
  const rel = relative(root, abs).split(sep).join('/')
  for (const key of [rel, `${rel}.js`, `${rel}/index.js`]) {
    if (modules[key]) return {filePath: join(root, key), module: modules[key]()}
  }
  throw new ModuleLoadError(
    `${modulePath} is not bundled into this executable (known: ${Object.keys(modules).join(', ')})`,
  )
}

const rootOf = (config) => config.root ?? config.options?.root ?? process.cwd()

export async function load(config, modulePath) {
  return find(rootOf(config), modulePath).module
}

export async function loadWithData(config, modulePath) {
  return {...find(rootOf(config), modulePath), isESM: true}
}

export async function loadWithDataFromManifest(cached, root) {
  return {...find(root, join(...cached.relativePath)), isESM: true}
}

export function isPathModule() {
  return true
}
