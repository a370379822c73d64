import {resolve} from 'node:path'
import {loadConfig} from '../../config/load.js'
import {UsageError} from '../../errors.js'
import {DEFAULT_CONTEXT_NAME, defaultLabDir} from './layout.js'

export interface LabLocator {
  dir?: string
  /** The selected context (--context / PLASMACTL_CONTEXT): a lab context whose lab.dir names the lab. */
  context?: string
  configPath: string
  /**
   * `lab up`: the name of the context it writes. A selected context that does not exist yet is fine
   * when it is this one (the lab is created under it); its lab, when it has one, comes before the
   * current context's.
   */
  writing?: string
}

/**
 * Finds the lab, the same way for `lab up`, `lab status`, `lab down` and `lab add-node`: --dir, else
 * the selected context's lab, else the current context's, a context "lab", else the default dir.
 */
export async function resolveLabDir(loc: LabLocator): Promise<string> {
  if (loc.dir) return resolve(loc.dir)
  const loaded = await loadConfig(loc.configPath, {allowMissing: true})
  const contexts = loaded.config.contexts
  const byName = (name: string | undefined) => contexts.find((c) => c.name === name)
  if (loc.context) {
    const ctx = byName(loc.context)
    if (ctx?.lab?.dir) return resolve(ctx.lab.dir)
    if (ctx || loc.context !== (loc.writing ?? DEFAULT_CONTEXT_NAME)) {
      throw new UsageError(`context "${loc.context}" ${ctx ? 'is not a lab context' : `not found in ${loaded.path}`}`, {
        file: loaded.path,
        hint:
          loc.writing === undefined
            ? 'pass --dir'
            : `pass --dir, or create a lab for it: plasmactl lab up --context-name ${loc.context} --dir DIR`,
      })
    }
    return defaultLabDir()
  }
  const dir =
    byName(loc.writing)?.lab?.dir ??
    byName(loaded.config['current-context'])?.lab?.dir ??
    byName(DEFAULT_CONTEXT_NAME)?.lab?.dir
  return dir ? resolve(dir) : defaultLabDir()
}
