import {loadConfig, type ValidationProblem} from '../../config/load.js'

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

/** Validates a config file; throws ConfigValidationError (exit 2) listing every problem. */
export async function validateConfigFile(opts: {path: string}): Promise<ValidateResult> {
  const {config, path} = await loadConfig(opts.path, {document: true})
  return {
    path,
    valid: true,
    contexts: config.contexts.length,
    nodes: config.contexts.reduce((n, c) => n + c.nodes.length, 0),
    currentContext: config['current-context'] ?? null,
  }
}
