import {createHash} from 'node:crypto'
import {readdir, readFile, stat} from 'node:fs/promises'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {LineCounter, parseDocument} from 'yaml'
import {configHome} from '../config/paths.js'
import {ROLES} from '../config/roles.js'
import {locate, toJSBounded} from '../config/validate.js'
import {UsageError} from '../errors.js'
import {didYouMean} from '../suggest.js'
import {
  type Condition,
  ID_RE,
  isTypedStep,
  type RawRunbook,
  type RawStep,
  REQUIRED_FIELDS,
  type Runbook,
  runbookSchema,
} from './schema.js'
import {DURATION_PATTERN} from '../config/duration.js'

export interface LintProblem {
  file: string
  line: number
  column: number
  path: string
  message: string
  severity: 'error' | 'warning'
}

export interface LoadedRunbook {
  name: string
  file: string
  text: string
  runbook: Runbook
  /** sha256 of the steps (canonical JSON): resume refuses when it differs. */
  stepsDigest: string
}

/** The package root (runbooks/ and templates/ live there), from dist/runbook or src/runbook. */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')

/** Where runbooks are looked up, first match wins: $PLASMACTL_RUNBOOK_PATH (colon-separated), the user's dir, the shipped ones. */
export function runbookDirs(): string[] {
  const extra = (process.env.PLASMACTL_RUNBOOK_PATH ?? '').split(':').filter(Boolean)
  return [...extra, join(configHome(), 'plasmactl', 'runbooks'), join(PACKAGE_ROOT, 'runbooks')]
}

export function digestSteps(steps: readonly RawStep[]): string {
  return createHash('sha256').update(canonical(steps)).digest('hex')
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`
  return JSON.stringify(v)
}

async function isFile(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined))?.isFile() ?? false
}

/** NAME (e.g. chainfire/restart-node) or a path to a .yaml file → the file. */
export async function findRunbook(nameOrFile: string): Promise<{name: string; file: string}> {
  if (/\.ya?ml$/.test(nameOrFile) || nameOrFile.startsWith('.') || nameOrFile.startsWith('/')) {
    const file = resolve(nameOrFile)
    if (!(await isFile(file))) throw new UsageError(`runbook file ${nameOrFile} does not exist`, {file})
    return {name: nameOrFile.replace(/\.ya?ml$/, ''), file}
  }
  if (!/^[\w.-]+(\/[\w.-]+)*$/.test(nameOrFile)) throw new UsageError(`invalid runbook name "${nameOrFile}"`)
  for (const dir of runbookDirs()) {
    for (const ext of ['.yaml', '.yml']) {
      const file = join(dir, nameOrFile + ext)
      if (await isFile(file)) return {name: nameOrFile, file}
    }
  }
  throw new UsageError(`no runbook "${nameOrFile}" (looked in ${runbookDirs().join(', ')})`, {
    hint: 'see `plasmactl runbook list`',
  })
}

export interface RunbookSummary {
  name: string
  file: string
  description: string
  params: string[]
}

export async function listRunbooks(): Promise<RunbookSummary[]> {
  const seen = new Map<string, RunbookSummary>()
  for (const dir of runbookDirs()) {
    const walk = async (d: string): Promise<string[]> => {
      const entries = await readdir(d, {withFileTypes: true}).catch(() => [])
      const out: string[] = []
      for (const e of entries) {
        if (e.isDirectory()) out.push(...(await walk(join(d, e.name))))
        else if (/\.ya?ml$/.test(e.name)) out.push(join(d, e.name))
      }
      return out
    }
    for (const file of (await walk(dir)).sort()) {
      const name = relative(dir, file).replace(/\.ya?ml$/, '')
      if (seen.has(name)) continue
      let description = ''
      let params: string[] = []
      try {
        const js = toJSBounded(parseDocument(await readFile(file, 'utf8')))
        if ('message' in js) throw new Error(js.message)
        const rb = js.value as Partial<RawRunbook>
        description = rb?.metadata?.description?.split('\n')[0] ?? ''
        params = Object.keys(rb?.params ?? {})
      } catch {
        description = '(unreadable: run `plasmactl runbook lint`)'
      }
      seen.set(name, {name, file, description, params})
    }
  }
  return [...seen.values()]
}

function fmtPath(path: PropertyKey[]): string {
  let out = ''
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`
  return out
}

const TEMPLATE_RE = /\{\{\s*([^}]*?)\s*\}\}/g
const TEMPLATE_VARS =
  /^(params\.[a-z][a-z0-9_]*|node\.(name|address|data_dir|peer_url|client_url)|run\.id|context\.name)$/

/**
 * Parses and lints a runbook: YAML syntax, schema (unknown keys, wrong types), then semantics
 * (duplicate ids, fields each kind needs, references to undeclared params or missing runbooks,
 * required params of included runbooks). Every problem carries file:line:column.
 */
export async function lintRunbookText(
  text: string,
  file: string,
): Promise<{runbook?: Runbook; problems: LintProblem[]}> {
  const lc = new LineCounter()
  const doc = parseDocument(text, {lineCounter: lc, prettyErrors: false, uniqueKeys: true})
  const at = (
    path: PropertyKey[],
    message: string,
    unknownKey?: string,
    severity: LintProblem['severity'] = 'error',
  ): LintProblem => {
    const off = locate(doc, path, unknownKey)
    const {line, col} = off === undefined ? {line: 1, col: 1} : lc.linePos(off)
    return {file, line, column: col, path: fmtPath(unknownKey ? [...path, unknownKey] : path), message, severity}
  }
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.map((e) => {
        const {line, col} = lc.linePos(e.pos[0])
        return {
          file,
          line,
          column: col,
          path: '',
          message: `YAML syntax error: ${e.message.split('\n')[0]}`,
          severity: 'error' as const,
        }
      }),
    }
  }
  const js = toJSBounded(doc)
  if ('message' in js) {
    const {line, col} = lc.linePos(js.offset)
    return {problems: [{file, line, column: col, path: '', message: js.message, severity: 'error'}]}
  }
  const raw = js.value ?? {}
  const parsed = runbookSchema.safeParse(raw)
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue): LintProblem[] => {
      if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => at(issue.path, `unknown key "${k}"`, k))
      if (issue.code === 'invalid_union') {
        // A condition (or on_failure) with an unknown or misspelled key.
        const value = issue.path.reduce<unknown>((o, k) => (o as Record<PropertyKey, unknown>)?.[k as string], raw)
        const keys = value && typeof value === 'object' ? Object.keys(value).join(', ') : JSON.stringify(value)
        return [
          at(
            issue.path,
            `not a valid ${typeof issue.path.at(-1) === 'string' ? String(issue.path.at(-1)) : 'condition'} (${keys}): see docs/runbooks.md`,
          ),
        ]
      }
      return [at(issue.path, issue.message)]
    })
    return {problems: problems.sort((a, b) => a.line - b.line || a.column - b.column)}
  }
  const rb = parsed.data
  const problems: LintProblem[] = []
  const params = rb.params ?? {}
  for (const [name, p] of Object.entries(params)) {
    const path = ['params', name]
    if (p.type === 'enum' && !p.values?.length) problems.push(at(path, `enum param "${name}" needs values`))
    if (p.type !== 'enum' && p.values) problems.push(at([...path, 'values'], `"values" applies to enum params only`))
    if (p.pattern) {
      try {
        new RegExp(p.pattern)
      } catch (error) {
        problems.push(at([...path, 'pattern'], `bad regular expression: ${(error as Error).message}`))
      }
    }
    if (p.default !== undefined) {
      try {
        coerceParam(name, p, String(p.default))
      } catch (error) {
        problems.push(at([...path, 'default'], (error as Error).message))
      }
    }
  }
  const checkTemplates = (value: unknown, path: PropertyKey[]) => {
    if (typeof value === 'string') {
      for (const m of value.matchAll(TEMPLATE_RE)) {
        const expr = m[1]
        if (!TEMPLATE_VARS.test(expr))
          problems.push(
            at(
              path,
              `unknown template variable "{{ ${expr} }}" (params.NAME, node.name|address|data_dir|peer_url|client_url, run.id, context.name)`,
            ),
          )
        else if (expr.startsWith('params.') && !(expr.slice(7) in params))
          problems.push(at(path, `"{{ ${expr} }}" references undeclared param "${expr.slice(7)}"`))
        else if (params[expr.slice(7)]?.secret && path.some((k) => NAME_FIELDS.has(String(k)))) {
          problems.push(
            at(
              path,
              `secret param "${expr.slice(7)}" cannot name a target, service or component (it would reach a command line): use secrets in commands, instructions and confirmations only`,
            ),
          )
        }
      }
    } else if (Array.isArray(value)) value.forEach((v, i) => checkTemplates(v, [...path, i]))
    else if (value && typeof value === 'object')
      for (const [k, v] of Object.entries(value)) checkTemplates(v, [...path, k])
  }
  const checkCondition = (c: Condition | undefined, path: PropertyKey[]) => {
    if (!c) return
    if ('param' in c && !((c.param as string) in params))
      problems.push(at([...path, 'param'], `condition references undeclared param "${String(c.param)}"`))
    for (const k of ['all', 'any'] as const)
      if (Array.isArray(c[k])) (c[k] as Condition[]).forEach((x, i) => checkCondition(x, [...path, k, i]))
    if (c.not) checkCondition(c.not as Condition, [...path, 'not'])
  }
  const ids = new Map<string, string>()
  const includes: {name: string; path: PropertyKey[]; params: Record<string, unknown>}[] = []
  const checkSteps = (steps: RawStep[], base: PropertyKey[]) => {
    steps.forEach((s, i) => {
      const path = [...base, i]
      if (ids.has(s.id)) problems.push(at([...path, 'id'], `duplicate step id "${s.id}" (first at ${ids.get(s.id)})`))
      else {
        const first = at([...path, 'id'], '')
        ids.set(s.id, `line ${first.line}`)
      }
      for (const field of REQUIRED_FIELDS[s.kind])
        if (s[field] === undefined) problems.push(at(path, `kind "${s.kind}" needs "${field}"`))
      if (s.kind === 'check' && !s.condition && !s.command)
        problems.push(at(path, 'kind "check" needs "condition" or "command"'))
      if (s.kind === 'runbook' && s.runbook)
        includes.push({name: s.runbook, path: [...path, 'runbook'], params: s.params ?? {}})
      if (s.kind === 'local' && s.on !== undefined)
        problems.push(at([...path, 'on'], 'a "local" step runs on this machine: remove "on"'))
      if ((s.kind === 'run' || s.kind === 'service') && s.on === undefined)
        problems.push(at(path, `kind "${s.kind}" needs "on" (targets)`))
      for (const t of [s.on ?? []].flat()) {
        if (
          !/^(all|leader|followers|local|node:[\w.-]+|role:[\w-]+|\{\{\s*params\.[a-z][a-z0-9_]*\s*\}\}|[\w.-]+)$/.test(
            t,
          )
        )
          problems.push(
            at(
              [...path, 'on'],
              `bad target "${t}" (all, leader, followers, node:NAME, role:ROLE or {{ params.NODE }})`,
            ),
          )
        else if (t.startsWith('role:') && !(ROLES as readonly string[]).includes(t.slice(5)))
          problems.push(
            at(
              [...path, 'on'],
              `unknown role in target "${t}" (roles: ${ROLES.join(', ')})${didYouMean(t.slice(5), ROLES)}`,
            ),
          )
      }
      checkTemplates(s, path)
      checkCondition(s.when, [...path, 'when'])
      checkCondition(s.until, [...path, 'until'])
      checkCondition(s.condition, [...path, 'condition'])
      if (s.on_failure && typeof s.on_failure === 'object')
        checkSteps(s.on_failure.rescue, [...path, 'on_failure', 'rescue'])
      if (!ID_RE.test(s.id)) problems.push(at([...path, 'id'], 'bad id'))
    })
  }
  checkSteps(rb.steps, ['steps'])
  ;(rb.preconditions ?? []).forEach((c, i) => {
    checkCondition(c, ['preconditions', i])
    checkTemplates(c, ['preconditions', i])
  })
  const edges = includes.map((inc) => {
    const {line, column} = at(inc.path, '')
    return {name: inc.name, file, line, column}
  })
  problems.push(...(await includeGraphProblems(file, edges)))
  for (const inc of includes) {
    try {
      const found = await findRunbook(inc.name)
      const text2 = await readFile(found.file, 'utf8')
      const js = toJSBounded(parseDocument(text2))
      if ('message' in js) continue // reported when that runbook is linted or loaded
      const sub = js.value as RawRunbook
      for (const [pn, ps] of Object.entries(sub?.params ?? {})) {
        if (ps.required && ps.default === undefined && !(pn in inc.params))
          problems.push(at(inc.path, `included runbook "${inc.name}" needs param "${pn}"`))
      }
      for (const pn of Object.keys(inc.params))
        if (!(pn in (sub?.params ?? {})))
          problems.push(at(inc.path, `included runbook "${inc.name}" has no param "${pn}"`))
    } catch (error) {
      problems.push(at(inc.path, (error as Error).message))
    }
  }
  return {runbook: typed(rb), problems: problems.sort((a, b) => a.line - b.line || a.column - b.column)}
}

/** The runbook with its steps typed by kind, or undefined when a step lacks a field its kind needs (a lint error). */
function typed(rb: RawRunbook): Runbook | undefined {
  const {steps} = rb
  return steps.every(isTypedStep) ? {...rb, steps} : undefined
}

/** How deeply runbooks may include one another: a root that includes b that includes c is depth 2. */
export const MAX_INCLUDE_DEPTH = 8

interface IncludeEdge {
  /** The runbook as the including file names it. */
  name: string
  file: string
  line: number
  column: number
}

/** The `kind: runbook` steps of a runbook file (rescue steps too), each with where it stands. */
async function includesOf(file: string): Promise<IncludeEdge[]> {
  const text = await readFile(file, 'utf8').catch(() => '')
  const lc = new LineCounter()
  const doc = parseDocument(text, {lineCounter: lc})
  const js = toJSBounded(doc)
  // A broken file is reported by its own lint when it is loaded.
  if ('message' in js || doc.errors.length > 0) return []
  const raw = (js.value ?? {}) as {steps?: unknown}
  const out: IncludeEdge[] = []
  const walk = (steps: unknown, base: PropertyKey[]) => {
    if (!Array.isArray(steps)) return
    steps.forEach((s: Partial<RawStep> | null, i) => {
      if (s?.kind === 'runbook' && typeof s.runbook === 'string') {
        const {line, col} = lc.linePos(locate(doc, [...base, i, 'runbook']) ?? 0)
        out.push({name: s.runbook, file, line, column: col})
      }
      if (s?.on_failure && typeof s.on_failure === 'object')
        walk(s.on_failure.rescue, [...base, i, 'on_failure', 'rescue'])
    })
  }
  walk(raw.steps, ['steps'])
  return out
}

/**
 * Follows includes from ROOT through every runbook they reach: a cycle (a includes b includes a)
 * is reported at the include that closes it, and a chain deeper than MAX_INCLUDE_DEPTH at the
 * root's include that starts it. Runbooks that cannot be found are left to their own lint.
 */
async function includeGraphProblems(root: string, rootEdges: IncludeEdge[]): Promise<LintProblem[]> {
  const show = (f: string) => (relative(process.cwd(), f).startsWith('..') ? f : relative(process.cwd(), f))
  // Longest include chain below each file already explored (names as written), so shared runbooks are walked once.
  const below = new Map<string, string[]>()
  const stack: string[] = []
  const walk = async (file: string, edges: IncludeEdge[]): Promise<string[]> => {
    const known = below.get(file)
    if (known) return known
    stack.push(file)
    let longest: string[] = []
    for (const e of edges) {
      const target = await findRunbook(e.name).then(
        (f) => f.file,
        () => undefined,
      )
      if (!target) continue
      const i = stack.indexOf(target)
      if (i >= 0) {
        const names = [...stack.slice(i), target].map(show).join(' → ')
        throw Object.assign(new Error(`include cycle: ${names}`), {edge: e})
      }
      const chain = [e.name, ...(await walk(target, await includesOf(target)))]
      if (chain.length > longest.length) longest = chain
    }
    stack.pop()
    below.set(file, longest)
    return longest
  }
  const problems: LintProblem[] = []
  try {
    for (const e of rootEdges) {
      const target = await findRunbook(e.name).then(
        (f) => f.file,
        () => undefined,
      )
      if (!target) continue
      if (target === root) throw Object.assign(new Error(`include cycle: ${show(root)} → ${show(root)}`), {edge: e})
      stack.push(root)
      const chain = [e.name, ...(await walk(target, await includesOf(target)))]
      stack.pop()
      if (chain.length > MAX_INCLUDE_DEPTH) {
        problems.push({
          file: e.file,
          line: e.line,
          column: e.column,
          path: '',
          message: `includes nest ${chain.length} deep (${[show(root), ...chain].join(' → ')}); at most ${MAX_INCLUDE_DEPTH} levels`,
          severity: 'error',
        })
      }
    }
  } catch (error) {
    const edge = (error as {edge?: IncludeEdge}).edge
    if (!edge) throw error
    problems.push({
      file: edge.file,
      line: edge.line,
      column: edge.column,
      path: '',
      message: (error as Error).message,
      severity: 'error',
    })
  }
  return problems
}

export class RunbookInvalidError extends UsageError {
  constructor(problems: LintProblem[]) {
    const first = problems[0]
    super(
      `${first.path ? `${first.path}: ` : ''}${first.message}${problems.length > 1 ? ` (and ${problems.length - 1} more: run \`plasmactl runbook lint\`)` : ''}`,
      {
        file: first.file,
        line: first.line,
        column: first.column,
        problems,
      },
    )
  }
}

export async function loadRunbook(nameOrFile: string): Promise<LoadedRunbook> {
  const {name, file} = await findRunbook(nameOrFile)
  const text = await readFile(file, 'utf8')
  const {runbook, problems} = await lintRunbookText(text, file)
  const errors = problems.filter((p) => p.severity === 'error')
  if (!runbook || errors.length > 0) throw new RunbookInvalidError(errors)
  return {name, file, text, runbook, stepsDigest: digestSteps(runbook.steps)}
}

/** Fields whose rendered value becomes part of a command line as it is (not through the environment). */
const NAME_FIELDS: ReadonlySet<string> = new Set(['on', 'service', 'component'])

export interface ParamValue {
  value: string | number | boolean
  secret: boolean
}

/** Checks and converts one param value against its spec (type, enum values, pattern, min/max). */
export function coerceParam(
  name: string,
  spec: Runbook['params'] extends Record<string, infer P> | undefined ? P : never,
  raw: string,
): string | number | boolean {
  const bad = (why: string) => new UsageError(`param ${name}: ${why}`)
  // A secret's value is never shown, not even in the error that refuses it.
  const shown = spec.secret ? 'the secret value' : `"${raw}"`
  switch (spec.type) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw bad(`${shown} is not an integer`)
      const n = Number(raw)
      if (spec.min !== undefined && n < spec.min)
        throw bad(`${spec.secret ? shown : n} is below the minimum ${spec.min}`)
      if (spec.max !== undefined && n > spec.max)
        throw bad(`${spec.secret ? shown : n} is above the maximum ${spec.max}`)
      return n
    }
    case 'bool': {
      if (/^(true|yes|1|on)$/i.test(raw)) return true
      if (/^(false|no|0|off)$/i.test(raw)) return false
      throw bad(`${shown} is not a boolean (true/false)`)
    }
    case 'duration':
      if (!DURATION_PATTERN.test(raw)) throw bad(`${shown} is not a duration (like 30s, 5m)`)
      return raw
    case 'enum':
      if (!spec.values?.includes(raw)) throw bad(`${shown} is not one of: ${spec.values?.join(', ')}`)
      return raw
    case 'node':
      if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/.test(raw)) throw bad(`${shown} is not a node name`)
      return raw
    default:
      if (spec.pattern && !new RegExp(spec.pattern).test(raw)) throw bad(`${shown} does not match ${spec.pattern}`)
      return raw
  }
}

/**
 * Resolves param values: --param k=v, then PLASMACTL_PARAM_K from the environment (the way to pass
 * secrets without putting them in the process list), then defaults; node params must name a node.
 */
export function resolveParams(
  rb: Runbook,
  given: Record<string, string>,
  nodeNames: string[],
  env: NodeJS.ProcessEnv = process.env,
): Record<string, ParamValue> {
  const specs = rb.params ?? {}
  for (const k of Object.keys(given))
    if (!(k in specs))
      throw new UsageError(
        `runbook ${rb.metadata.name} has no param "${k}" (params: ${Object.keys(specs).join(', ') || 'none'})`,
      )
  const out: Record<string, ParamValue> = {}
  const missing: string[] = []
  for (const [name, spec] of Object.entries(specs)) {
    const raw =
      given[name] ??
      env[`PLASMACTL_PARAM_${name.toUpperCase()}`] ??
      (spec.default === undefined ? undefined : String(spec.default))
    if (raw === undefined) {
      if (spec.required) missing.push(name)
      continue
    }
    const value = coerceParam(name, spec, raw)
    if (spec.type === 'node' && !nodeNames.includes(String(value)))
      throw new UsageError(
        `param ${name}: no node ${spec.secret ? 'by the secret name' : `"${value}"`} in the context (have: ${nodeNames.join(', ')})`,
      )
    out[name] = {value, secret: Boolean(spec.secret)}
  }
  if (missing.length > 0) {
    throw new UsageError(`missing required param${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`, {
      hint: missing.map((m) => `--param ${m}=VALUE (or PLASMACTL_PARAM_${m.toUpperCase()})`).join(' '),
    })
  }
  return out
}

export function parseParamFlags(flags: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const f of flags ?? []) {
    const i = f.indexOf('=')
    if (i <= 0) throw new UsageError(`--param expects KEY=VALUE, got "${f.includes('=') ? f : f.slice(0, 40)}"`)
    out[f.slice(0, i)] = f.slice(i + 1)
  }
  return out
}
