import {shellQuote} from '../shell-quote.js'
import type {ParamValue} from './loader.js'

/**
 * Safe templating. One pass over the template text: every {{ expr }} is replaced by its value, and
 * the result is never scanned again, so a value (or anything a host or ChainFire returns) cannot
 * inject template syntax. In shell commands every value is shell-quoted; a secret param becomes a
 * reference to an environment variable ("$PLASMA_SECRET_NAME") whose value travels over stdin (SSH)
 * or the process environment (local), never in an argv.
 */
export interface TemplateVars {
  params: Record<string, ParamValue>
  node?: {name: string; address: string; data_dir?: string; peer_url?: string; client_url?: string}
  run: {id: string}
  context: {name: string}
}

const TEMPLATE_RE = /\{\{\s*([^}]*?)\s*\}\}/g

export function secretEnvName(param: string): string {
  return `PLASMA_SECRET_${param.toUpperCase()}`
}

function lookup(expr: string, vars: TemplateVars): {value: string; secret?: string} {
  const [head, key] = expr.split('.', 2)
  if (head === 'params') {
    const p = vars.params[key]
    if (!p) return {value: ''}
    return {value: String(p.value), secret: p.secret ? key : undefined}
  }
  if (head === 'node') {
    if (!vars.node) throw new Error(`{{ ${expr} }} used in a step without node targets`)
    return {value: String((vars.node as Record<string, unknown>)[key] ?? '')}
  }
  if (head === 'run' && key === 'id') return {value: vars.run.id}
  if (head === 'context' && key === 'name') return {value: vars.context.name}
  throw new Error(`unknown template variable {{ ${expr} }}`)
}

export interface RenderedCommand {
  /** Exactly what the shell runs (secrets appear as "$PLASMA_SECRET_X" references). */
  command: string
  /** Secret values the command needs, by variable name. */
  env: Record<string, string>
}

export function renderCommand(template: string, vars: TemplateVars): RenderedCommand {
  const env: Record<string, string> = {}
  const command = template.replace(TEMPLATE_RE, (_m, expr: string) => {
    const {value, secret} = lookup(expr, vars)
    if (secret) {
      env[secretEnvName(secret)] = value
      return `"$${secretEnvName(secret)}"`
    }
    return shellQuote(value)
  })
  return {command, env}
}

/** Plain substitution for non-shell fields (targets, condition and action arguments, instructions). */
export function renderText(template: string, vars: TemplateVars): string {
  return template.replace(TEMPLATE_RE, (_m, expr: string) => lookup(expr, vars).value)
}

/** Renders every string inside a value (action `with`), except under the keys in RAW (left as templates). */
export function renderDeep<T>(value: T, vars: TemplateVars, raw: ReadonlySet<string> = new Set()): T {
  if (typeof value === 'string') return renderText(value, vars) as T
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, vars, raw)) as T
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, raw.has(k) ? v : renderDeep(v, vars, raw)]),
    ) as T
  return value
}

const SHELL_KEYS: ReadonlySet<string> = new Set(['command'])

/**
 * Renders a condition's text values (names compared in-process). Its `command` stays a template:
 * it is rendered by renderCommand on each node it runs on (values quoted, secrets over stdin).
 */
export function renderCondition<T>(condition: T, vars: TemplateVars): T {
  return renderDeep(condition, vars, SHELL_KEYS)
}

/** The script sent on stdin when a command needs secrets: sh reads the values, then runs the command. */
export function stdinScript(r: RenderedCommand): string {
  const lines = Object.entries(r.env).map(([k, v]) => `${k}=${shellQuote(v)}; export ${k}`)
  return `${lines.join('\n')}\n${r.command}\n`
}

/** Replaces every secret value (by value) wherever it appears; longest first so overlaps stay hidden. */
export class Redactor {
  private readonly values: string[]

  constructor(secrets: Iterable<string>) {
    this.values = [...new Set([...secrets].filter((s) => s.length > 0))].sort((a, b) => b.length - a.length)
  }

  get active(): boolean {
    return this.values.length > 0
  }

  text(s: string): string {
    let out = s
    for (const v of this.values) out = out.split(v).join('***')
    return out
  }

  deep<T>(value: T): T {
    if (!this.active) return value
    if (typeof value === 'string') return this.text(value) as T
    if (Array.isArray(value)) return value.map((v) => this.deep(v)) as T
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.deep(v)])) as T
    return value
  }
}
