import {resolve} from 'node:path'
import {loadConfig} from '../../config/load.js'
import {UsageError} from '../../errors.js'
import {DEFAULT_CONTEXT_NAME, defaultLabDir} from './layout.js'

export interface LabLocator {
  dir?: string
  /** --context: a lab context whose lab.dir names the lab. */
  context?: string
  configPath: string
}

/** Finds the lab: --dir, else the named context, the current context, a context "lab", else the default dir. */
export async function resolveLabDir(loc: LabLocator): Promise<string> {
  if (loc.dir) return resolve(loc.dir)
  const loaded = await loadConfig(loc.configPath, {allowMissing: true})
  const contexts = loaded.config.contexts
  if (loc.context) {
    const ctx = contexts.find((c) => c.name === loc.context)
    if (!ctx?.lab?.dir) throw new UsageError(`context "${loc.context}" ${ctx ? 'is not a lab context' : `not found in ${loaded.path}`}`, {file: loaded.path, hint: 'pass --dir'})
    return resolve(ctx.lab.dir)
  }
  const current = contexts.find((c) => c.name === loaded.config['current-context'])
  const byName = contexts.find((c) => c.name === DEFAULT_CONTEXT_NAME)
  const dir = current?.lab?.dir ?? byName?.lab?.dir
  return dir ? resolve(dir) : defaultLabDir()
}
