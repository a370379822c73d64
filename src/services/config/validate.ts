import {readFile} from 'node:fs/promises'
import {configPath} from '../../config/context.js'
import {loadConfig, type LoadedConfig, type ValidationProblem} from '../../config/load.js'
import {ConfigValidationError, locate} from '../../config/validate.js'
import {fileProblem, referencedFiles} from './files.js'

export interface ValidateResult {
  path: string
  valid: true
  contexts: number
  nodes: number
  currentContext: string | null
}

/** One problem as a line: `file:line:col: path: message` (the form editors and grep understand). */
export function formatProblem(p: ValidationProblem): string {
  return `${p.file}:${p.line}:${p.column}: ${p.path ? `${p.path}: ` : ''}${p.message}`
}

/** Files the config names (keys, known_hosts, SSH config, TLS CA/cert/key) that are missing or unreadable. */
async function fileProblems(loaded: LoadedConfig): Promise<ValidationProblem[]> {
  const {LineCounter, parseDocument} = await import('yaml')
  const lineCounter = new LineCounter()
  const doc = parseDocument(await readFile(loaded.path, 'utf8'), {lineCounter})
  const refs = loaded.config.contexts.flatMap((_, i) => referencedFiles(loaded.config, i))
  const found = await Promise.all(
    refs.map(async (r) => ({r, why: await fileProblem(configPath(loaded, r.value), r.optional)})),
  )
  return found.flatMap(({r, why}) => {
    if (!why) return []
    const {line, col} = lineCounter.linePos(locate(doc, r.path) ?? 0)
    const path = r.path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '')
    return [{file: loaded.path, line, column: col, path, message: why}]
  })
}

/** Validates a config file and the files it names; throws ConfigValidationError (exit 2) listing every problem. */
export async function validateConfigFile(opts: {path: string}): Promise<ValidateResult> {
  const loaded = await loadConfig(opts.path, {document: true})
  const {config, path} = loaded
  const problems = await fileProblems(loaded)
  if (problems.length > 0) throw new ConfigValidationError(problems)
  return {
    path,
    valid: true,
    contexts: config.contexts.length,
    nodes: config.contexts.reduce((n, c) => n + c.nodes.length, 0),
    currentContext: config['current-context'] ?? null,
  }
}
