import {type Document, isMap, isPair, isScalar, LineCounter, parseDocument, type Node as YamlNode} from 'yaml'
import type {z} from 'zod'
import {UsageError} from '../errors.js'
import {type Config, configSchema} from './schema.js'

export interface ValidationProblem {
  file: string
  line: number
  column: number
  path: string
  message: string
}

/** Thrown for an invalid file: lists every problem, the first one in the message. */
export class ConfigValidationError extends UsageError {
  readonly problems: ValidationProblem[]
  constructor(problems: ValidationProblem[]) {
    const first = problems[0]
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : ''
    super(`${first.path ? `${first.path}: ` : ''}${first.message}${more}`, {
      file: first.file,
      line: first.line,
      column: first.column,
      problems,
      hint: 'run `plasmactl config validate` to list every problem',
    })
    this.problems = problems
  }
}

function formatPath(path: PropertyKey[]): string {
  let out = ''
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`
  return out
}

/** Offset of the YAML node closest to a schema path; for an unknown key, of the key itself. */
export function locate(doc: Document, path: PropertyKey[], unknownKey?: string): number | undefined {
  let node: unknown = doc.contents
  let offset = (doc.contents as YamlNode | null)?.range?.[0]
  for (const seg of path) {
    if (!node || typeof node !== 'object' || !('items' in node)) break
    const items = (node as {items: unknown[]}).items
    let next: unknown
    if (typeof seg === 'number') next = items[seg]
    else {
      const pair = items.find((it) => isPair(it) && isScalar(it.key) && it.key.value === seg)
      if (isPair(pair)) {
        offset = (pair.key as YamlNode).range?.[0] ?? offset
        next = pair.value
      }
    }
    if (next === undefined) break
    node = next
    const r = (next as YamlNode)?.range
    if (r) offset = r[0]
  }
  if (unknownKey && isMap(node)) {
    const pair = node.items.find((it) => isScalar(it.key) && it.key.value === unknownKey)
    const r = (pair?.key as YamlNode | undefined)?.range
    if (r) offset = r[0]
  }
  return offset
}

export function validateConfigText(text: string, file: string): {config: Config; doc: Document} {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, {lineCounter, prettyErrors: false, uniqueKeys: true})
  const pos = (offset: number | undefined) => (offset === undefined ? {line: 1, col: 1} : lineCounter.linePos(offset))
  if (doc.errors.length > 0) {
    throw new ConfigValidationError(
      doc.errors.map((e) => {
        const {line, col} = pos(e.pos[0])
        return {file, line, column: col, path: '', message: `YAML syntax error: ${e.message.split('\n')[0]}`}
      }),
    )
  }
  const raw = doc.toJS() ?? {}
  const result = configSchema.safeParse(raw)
  if (!result.success) {
    const problems = result.error.issues.flatMap((issue) => toProblems(issue, raw, doc, file, pos))
    throw new ConfigValidationError(problems.sort((a, b) => a.line - b.line || a.column - b.column))
  }
  const config = result.data
  const problems = semanticProblems(config).map(({path, message}) => {
    const {line, col} = pos(locate(doc, path))
    return {file, line, column: col, path: formatPath(path), message}
  })
  if (problems.length > 0) throw new ConfigValidationError(problems)
  return {config, doc}
}

/** True when the key at the end of PATH is absent from an object in the raw data (not merely wrong). */
function isMissingKey(raw: unknown, path: PropertyKey[]): boolean {
  if (path.length === 0) return false
  let parent: unknown = raw
  for (const seg of path.slice(0, -1)) {
    if (parent === null || typeof parent !== 'object') return false
    parent = (parent as Record<PropertyKey, unknown>)[seg]
  }
  if (parent === null || typeof parent !== 'object' || Array.isArray(parent)) return false
  return !Object.prototype.hasOwnProperty.call(parent, path.at(-1) as PropertyKey)
}

function toProblems(
  issue: z.core.$ZodIssue,
  raw: unknown,
  doc: Document,
  file: string,
  pos: (o: number | undefined) => {line: number; col: number},
): ValidationProblem[] {
  if (issue.code === 'unrecognized_keys') {
    // One problem per unknown key, each pointing at the key itself.
    const known = knownKeysHint(issue.path)
    return issue.keys.map((key) => {
      const {line, col} = pos(locate(doc, issue.path, key))
      return {file, line, column: col, path: formatPath([...issue.path, key]), message: `unknown key "${key}"${known}`}
    })
  }
  const {line, col} = pos(locate(doc, issue.path))
  // zod 4 does not report the input by default, so look at the raw data to tell "missing" from "wrong".
  const key = issue.path.at(-1)
  const message = typeof key === 'string' && isMissingKey(raw, issue.path) ? `missing required key "${key}"` : issue.message
  return [{file, line, column: col, path: formatPath(issue.path), message}]
}

function knownKeysHint(path: PropertyKey[]): string {
  // Walk the zod schema along the path to suggest the allowed keys for a typo.
  let schema: z.ZodType = configSchema as unknown as z.ZodType
  for (const seg of path) {
    const def = (schema as unknown as {def: {type: string; shape?: Record<string, z.ZodType>; element?: z.ZodType; innerType?: z.ZodType; valueType?: z.ZodType}}).def
    let next: z.ZodType | undefined
    if (def.type === 'optional' || def.type === 'default') next = def.innerType
    if (next) schema = next
    const d2 = (schema as unknown as {def: typeof def}).def
    if (d2.type === 'object' && typeof seg === 'string') next = d2.shape?.[seg]
    else if (d2.type === 'array') next = d2.element
    else if (d2.type === 'record') next = d2.valueType
    if (!next) return ''
    schema = next
  }
  for (let i = 0; i < 3; i++) {
    const def = (schema as unknown as {def: {type: string; innerType?: z.ZodType; shape?: Record<string, unknown>}}).def
    if (def.type === 'object' && def.shape) return `; expected one of: ${Object.keys(def.shape).join(', ')}`
    if (def.innerType) schema = def.innerType
  }
  return ''
}

function semanticProblems(config: Config): {path: PropertyKey[]; message: string}[] {
  const problems: {path: PropertyKey[]; message: string}[] = []
  const seen = new Set<string>()
  config.contexts.forEach((ctx, i) => {
    if (seen.has(ctx.name)) problems.push({path: ['contexts', i, 'name'], message: `duplicate context name "${ctx.name}"`})
    seen.add(ctx.name)
    const nodes = new Set<string>()
    ctx.nodes.forEach((n, j) => {
      if (nodes.has(n.name)) problems.push({path: ['contexts', i, 'nodes', j, 'name'], message: `duplicate node name "${n.name}"`})
      nodes.add(n.name)
    })
  })
  const cur = config['current-context']
  if (cur && !seen.has(cur)) problems.push({path: ['current-context'], message: `current-context "${cur}" names no context (have: ${[...seen].join(', ') || 'none'})`})
  return problems
}

