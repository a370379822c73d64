import {access, readFile} from 'node:fs/promises'
import {fileURLToPath} from 'node:url'
import {type Document, isMap, isScalar, isSeq, parseDocument} from 'yaml'
import {UsageError} from '../../errors.js'
import {writeFileAtomic} from '../../core/fs.js'
import {validateConfigText} from '../../config/validate.js'
import {ROLES, type Role, SAFE_HOST_RE, SAFE_HOST_RULE, SAFE_USER_RE, SAFE_USER_RULE} from '../../config/schema.js'

export const ENVIRONMENTS = ['production', 'staging', 'lab'] as const
export type Environment = (typeof ENVIRONMENTS)[number]

export interface InitNode {
  name: string
  address: string
  roles: Role[]
}

/** Every answer `config init` needs; each one has a flag. */
export interface InitAnswers {
  contextName: string
  environment: Environment
  nodes: InitNode[]
  sshUser?: string
  identityFile?: string
  endpoints?: string[]
}

/** Fills in missing answers (on a terminal); absent when nobody can be asked. */
export type InitPrompter = (given: Partial<InitAnswers>) => Promise<Partial<InitAnswers>>

/** The answers as flags give them: nodes still as `name=address[:role,…]` text. */
export type InitFlags = Partial<Omit<InitAnswers, 'nodes'>> & {nodes?: string[]}

export interface InitOptions {
  path: string
  force: boolean
  flags: InitFlags
  prompter?: InitPrompter
}

export interface InitResult {
  path: string
  overwritten: boolean
  context: string
  environment: Environment
  nodes: InitNode[]
  endpoints: string[]
}

/** The flag that answers each required question, listed when there is no terminal to ask on. */
export const REQUIRED_INIT_FLAGS: Record<'contextName' | 'environment' | 'nodes', string> = {
  contextName: '--context-name NAME',
  environment: `--environment ${ENVIRONMENTS.join('|')}`,
  nodes: '--node name=address[:role,…] (repeatable)',
}

export const TEMPLATE_PATH = fileURLToPath(new URL('../../../templates/config.yaml', import.meta.url))
export const SCHEMA_PATH = fileURLToPath(new URL('../../../schemas/config.schema.json', import.meta.url))
const TEMPLATE_SCHEMA_REF = '$schema=../schemas/config.schema.json'

/**
 * Parses `--node name=address[:role,role…]`. IPv6 addresses go in brackets: `n1=[fd00::1]:chainfire`.
 * Roles default to chainfire, the component every plasmactl context talks to.
 */
export function parseNodeFlag(value: string): InitNode {
  const bad = (why: string) =>
    new UsageError(`invalid --node "${value}": ${why}`, {
      hint: 'use --node name=address[:role,…], e.g. --node cp1=10.0.0.11:chainfire,flaredb',
    })
  const eq = value.indexOf('=')
  if (eq <= 0) throw bad('expected name=address')
  const name = value.slice(0, eq).trim()
  const rest = value.slice(eq + 1).trim()
  let address: string
  let roleText: string | undefined
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']')
    if (close < 0) throw bad('unclosed "[" in an IPv6 address')
    address = rest.slice(1, close)
    const tail = rest.slice(close + 1)
    if (tail && !tail.startsWith(':')) throw bad(`unexpected "${tail}" after the address`)
    roleText = tail ? tail.slice(1) : undefined
  } else {
    const colon = rest.indexOf(':')
    address = colon < 0 ? rest : rest.slice(0, colon)
    roleText = colon < 0 ? undefined : rest.slice(colon + 1)
  }
  if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/.test(name)) throw bad('node names use letters, digits, ".", "_" and "-"')
  if (!address) throw bad('missing address')
  if (!SAFE_HOST_RE.test(address)) throw bad(`the address must be ${SAFE_HOST_RULE}`)
  const roles =
    roleText === undefined
      ? ['chainfire']
      : roleText
          .split(',')
          .map((r) => r.trim())
          .filter(Boolean)
  for (const r of roles) {
    if (!(ROLES as readonly string[]).includes(r)) throw bad(`unknown role "${r}" (roles: ${ROLES.join(', ')})`)
  }
  return {name, address, roles: [...new Set(roles)] as Role[]}
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  )
}

/** Required answers still missing, as the flags that would answer them. */
export function missingInitFlags(a: Partial<InitAnswers>): string[] {
  const missing: string[] = []
  if (!a.contextName) missing.push(REQUIRED_INIT_FLAGS.contextName)
  if (!a.environment) missing.push(REQUIRED_INIT_FLAGS.environment)
  if (!a.nodes || a.nodes.length === 0) missing.push(REQUIRED_INIT_FLAGS.nodes)
  return missing
}

/** Creates the config file from the commented template; refuses to overwrite without force. */
export async function initConfig(opts: InitOptions): Promise<InitResult> {
  const overwritten = await exists(opts.path)
  if (overwritten && !opts.force) {
    throw new UsageError(`config file ${opts.path} already exists`, {
      file: opts.path,
      hint: 'pass --force to overwrite it, --config PATH to write elsewhere, or edit it with `plasmactl config use-context`',
    })
  }
  // Bad flags fail before anyone is asked anything.
  const {nodes: nodeFlags, ...rest} = opts.flags
  let answers: Partial<InitAnswers> = {
    ...rest,
    ...(nodeFlags && nodeFlags.length > 0 ? {nodes: nodeFlags.map((n) => parseNodeFlag(n))} : {}),
  }
  for (const e of answers.endpoints ?? []) {
    if (!URL.canParse(e)) throw new UsageError(`invalid --endpoint "${e}": expected a URL like http://10.0.0.11:2379`)
  }
  if (opts.prompter && missingInitFlags(answers).length > 0) answers = {...answers, ...(await opts.prompter(answers))}
  const missing = missingInitFlags(answers)
  if (missing.length > 0) {
    throw new UsageError(`missing required answers and no terminal to ask on: pass ${missing.join(', ')}`, {
      hint: 'e.g. plasmactl config init --context-name prod --environment production --node cp1=10.0.0.11:chainfire',
    })
  }
  const full = answers as InitAnswers
  if (!(ENVIRONMENTS as readonly string[]).includes(full.environment)) {
    throw new UsageError(`invalid environment "${full.environment}" (expected ${ENVIRONMENTS.join(', ')})`)
  }
  if (full.sshUser && !SAFE_USER_RE.test(full.sshUser))
    throw new UsageError(`invalid --ssh-user "${full.sshUser}": expected ${SAFE_USER_RULE}`)
  const dup = full.nodes.find((n, i) => full.nodes.findIndex((m) => m.name === n.name) !== i)
  if (dup) throw new UsageError(`node "${dup.name}" is given twice (--node names must be unique)`)
  const text = renderConfig(await readFile(TEMPLATE_PATH, 'utf8'), full)
  // The written file must pass the same validation every command applies when loading it.
  const {config} = validateConfigText(text, opts.path)
  await writeFileAtomic(opts.path, text)
  const ctx = config.contexts[0]
  return {
    path: opts.path,
    overwritten,
    context: ctx.name,
    environment: ctx.environment,
    nodes: full.nodes,
    endpoints: ctx.chainfire?.endpoints ?? [],
  }
}

/** Sets a scalar in place (keeping its comments), or creates it. */
function setValue(doc: Document, path: (string | number)[], value: unknown): void {
  const node = doc.getIn(path, true)
  if (isScalar(node) && (typeof value === 'string' || typeof value === 'number')) node.value = value
  else doc.setIn(path, value)
}

/** Fills the template's first context with the answers; the template's comments stay. */
export function renderConfig(template: string, a: InitAnswers): string {
  const doc = parseDocument(template)
  const ctx = ['contexts', 0]
  const contexts = doc.get('contexts', true)
  if (isSeq(contexts)) contexts.items.splice(1)
  setValue(doc, ['current-context'], a.contextName)
  setValue(doc, [...ctx, 'name'], a.contextName)
  setValue(doc, [...ctx, 'environment'], a.environment)
  doc.deleteIn([...ctx, 'description'])
  if (a.sshUser) setValue(doc, [...ctx, 'ssh', 'user'], a.sshUser)
  else doc.deleteIn([...ctx, 'ssh', 'user'])
  if (a.identityFile) setValue(doc, [...ctx, 'ssh', 'identity-file'], a.identityFile)
  else doc.deleteIn([...ctx, 'ssh', 'identity-file'])
  const nodes = doc.createNode(a.nodes.map((n) => ({name: n.name, address: n.address, roles: n.roles})))
  for (const item of nodes.items) {
    const roles = isMap(item) ? item.get('roles', true) : undefined
    if (isSeq(roles)) roles.flow = true
  }
  doc.setIn([...ctx, 'nodes'], nodes)
  if (a.endpoints && a.endpoints.length > 0) doc.setIn([...ctx, 'chainfire', 'endpoints'], doc.createNode(a.endpoints))
  else doc.deleteIn([...ctx, 'chainfire', 'endpoints'])
  return doc.toString({flowCollectionPadding: false}).replace(TEMPLATE_SCHEMA_REF, `$schema=${SCHEMA_PATH}`)
}
