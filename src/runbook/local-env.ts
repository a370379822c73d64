import {createHash} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {delimiter, join} from 'node:path'
import {isSea} from 'node:sea'
import {writeFileAtomic} from '../core/fs.js'
import {stateDir} from '../config/paths.js'
import {shellQuote} from '../shell-quote.js'
import {PACKAGE_ROOT} from './loader.js'

/**
 * The directory holding a `plasmactl` that runs this installation (this Node and this package's
 * bin/run.js, or this single executable), whatever is (or is not) on PATH. Written once per
 * installation under the state dir.
 */
export async function selfShimDir(): Promise<string> {
  const self = isSea()
    ? shellQuote(process.execPath)
    : `${shellQuote(process.execPath)} ${shellQuote(join(PACKAGE_ROOT, 'bin', 'run.js'))}`
  const script = `#!/bin/sh\n# plasmactl: runbook local steps run the installation that runs the runbook.\nexec ${self} "$@"\n`
  const dir = join(stateDir(), 'self', createHash('sha256').update(script).digest('hex').slice(0, 16))
  const file = join(dir, 'plasmactl')
  if ((await readFile(file, 'utf8').catch(() => undefined)) !== script) await writeFileAtomic(file, script, 0o755)
  return dir
}

/**
 * The environment of a runbook's `local` steps: `plasmactl` is this installation (first on PATH),
 * and it acts on the run's config file and context, not on the current context.
 */
export async function localStepEnv(configPath: string, context: string): Promise<Record<string, string>> {
  return {
    PATH: `${await selfShimDir()}${delimiter}${process.env.PATH ?? ''}`,
    PLASMACTL_CONFIG: configPath,
    PLASMACTL_CONTEXT: context,
  }
}
