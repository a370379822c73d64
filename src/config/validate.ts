import {
  type Alias,
  type Document,
  isMap,
  isPair,
  isScalar,
  LineCounter,
  parseDocument,
  visit,
  type Node as YamlNode,
} from 'yaml'
import type {z} from 'zod'
import {UsageError} from '../errors.js'
import {type Config, configSchema, contextSchema, nodeSchema} from './schema.js'

export interface ValidationProblem {
  file: string
  line: number
  column: number
  path: string
  message: string
}

/** How many problems an error lists; the rest are counted ("and N more"). */
export const MAX_LISTED_PROBLEMS = 100

/** Thrown for an invalid file: lists the first problems (the first one in the message) and counts the rest. */
export class ConfigValidationError extends UsageError {
  readonly problems: ValidationProblem[]
  /** Problems found beyond the listed ones. */
  readonly more: number
  constructor(problems: ValidationProblem[]) {
    const first = problems[0]
    const more =
      problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : ''
    const listed = problems.slice(0, MAX_LISTED_PROBLEMS)
    super(`${first.path ? `${first.path}: ` : ''}${first.message}${more}`, {
      file: first.file,
      line: first.line,
      column: first.column,
      problems: listed,
      more: problems.length - listed.length,
      hint: 'run `plasmactl config validate` to list every problem',
    })
    this.problems = listed
    this.more = problems.length - listed.length
  }
}

/** Aliases a YAML file may expand (yaml's default): more is an alias bomb ("billion laughs"). */
export const MAX_ALIASES = 100

/**
 * doc.toJS() with alias expansion bounded: an alias bomb becomes a problem located at the alias
 * that went over the bound, instead of an exception or exhausted memory.
 */
export function toJSBounded(doc: Document): {value: unknown} | {offset: number; message: string} {
  const aliases: Alias[] = []
  visit(doc, {
    Alias(_, node) {
      aliases.push(node)
    },
  })
  let offset: number | undefined
  for (const a of aliases) {
    const original = a.toJSON
    a.toJSON = function (this: Alias, ...args: Parameters<Alias['toJSON']>) {
      try {
        return original.apply(this, args)
      } catch (error) {
        offset ??= this.range?.[0]
        throw error
      }
    }
  }
  try {
    return {value: doc.toJS({maxAliasCount: MAX_ALIASES})}
  } catch (error) {
    if (!(error instanceof ReferenceError) || offset === undefined) throw error
    const why = /Excessive alias count/.test(error.message)
      ? `aliases expand to more than ${MAX_ALIASES} nodes (an alias bomb)`
      : error.message
    return {offset, message: `YAML: ${why}`}
  } finally {
    for (const a of aliases) delete (a as Partial<Alias>).toJSON
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
  const js = toJSBounded(doc)
  if ('message' in js) {
    const {line, col} = pos(js.offset)
    throw new ConfigValidationError([{file, line, column: col, path: '', message: js.message}])
  }
  const raw = js.value ?? {}
  const result = parseConfig(raw)
  if (!result.success) {
    const problems: ValidationProblem[] = []
    for (const issue of result.issues) for (const p of toProblems(issue, raw, doc, file, pos)) problems.push(p)
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

type Issue = z.core.$ZodIssue

/**
 * configSchema.safeParse, except that a file with a huge number of problems (zod gathers nested
 * issues with push(...), which overflows the stack past ~100 000) is checked piece by piece:
 * the file without its contexts, each context without its nodes, then each node.
 */
function parseConfig(raw: unknown): {success: true; data: Config} | {success: false; issues: Issue[]} {
  try {
    const r = configSchema.safeParse(raw)
    return r.success ? {success: true, data: r.data} : {success: false, issues: r.error.issues}
  } catch (error) {
    if (!(error instanceof RangeError)) throw error
  }
  const issues: Issue[] = []
  const add = (prefix: PropertyKey[], r: {success: boolean; error?: {issues: Issue[]}}) => {
    for (const i of r.error?.issues ?? []) issues.push({...i, path: [...prefix, ...i.path]} as Issue)
  }
  const obj = raw as {contexts?: unknown}
  const contexts = Array.isArray(obj?.contexts) ? (obj.contexts as unknown[]) : []
  add([], configSchema.safeParse({...obj, contexts: Array.isArray(obj?.contexts) ? [] : obj?.contexts}))
  contexts.forEach((c, i) => {
    const nodes = (c as {nodes?: unknown})?.nodes
    if (!Array.isArray(nodes)) return add(['contexts', i], contextSchema.safeParse(c))
    add(['contexts', i], contextSchema.safeParse({...(c as object), nodes: []}))
    nodes.forEach((n, j) => add(['contexts', i, 'nodes', j], nodeSchema.safeParse(n)))
  })
  if (issues.length === 0)
    issues.push({code: 'custom', path: [], message: 'too many problems to check', input: raw} as Issue)
  return {success: false, issues}
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
  issue: Issue,
  raw: unknown,
  doc: Document,
  file: string,
  pos: (o: number | undefined) => {line: number; col: number},
): ValidationProblem[] {
  if (issue.code === 'unrecognized_keys') {
    // One problem per unknown key, each pointing at the key itself.
    const known = knownKeysHint(issue.path)
    // One pass over the map's keys (not one search per key: a map may hold many thousands).
    const map = doc.getIn(issue.path, true)
    const keyOffsets = new Map<unknown, number | undefined>(
      isMap(map)
        ? map.items.map((it) => [isScalar(it.key) ? it.key.value : it.key, (it.key as YamlNode | null)?.range?.[0]])
        : [],
    )
    return issue.keys.map((key) => {
      const {line, col} = pos(keyOffsets.get(key) ?? locate(doc, issue.path, key))
      return {file, line, column: col, path: formatPath([...issue.path, key]), message: `unknown key "${key}"${known}`}
    })
  }
  const {line, col} = pos(locate(doc, issue.path))
  // zod 4 does not report the input by default, so look at the raw data to tell "missing" from "wrong".
  const key = issue.path.at(-1)
  const message =
    typeof key === 'string' && isMissingKey(raw, issue.path) ? `missing required key "${key}"` : issue.message
  return [{file, line, column: col, path: formatPath(issue.path), message}]
}

function knownKeysHint(path: PropertyKey[]): string {
  // Walk the zod schema along the path to suggest the allowed keys for a typo.
  let schema: z.ZodType = configSchema as unknown as z.ZodType
  for (const seg of path) {
    const def = (
      schema as unknown as {
        def: {
          type: string
          shape?: Record<string, z.ZodType>
          element?: z.ZodType
          innerType?: z.ZodType
          valueType?: z.ZodType
        }
      }
    ).def
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
    if (seen.has(ctx.name))
      problems.push({path: ['contexts', i, 'name'], message: `duplicate context name "${ctx.name}"`})
    seen.add(ctx.name)
    const nodes = new Set<string>()
    ctx.nodes.forEach((n, j) => {
      if (nodes.has(n.name))
        problems.push({path: ['contexts', i, 'nodes', j, 'name'], message: `duplicate node name "${n.name}"`})
      nodes.add(n.name)
    })
  })
  const cur = config['current-context']
  if (cur && !seen.has(cur))
    problems.push({
      path: ['current-context'],
      message: `current-context "${cur}" names no context (have: ${[...seen].join(', ') || 'none'})`,
    })
  return problems
}
