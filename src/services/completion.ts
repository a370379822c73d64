import {loadConfig, selectContext} from '../config/load.js'
import {defaultConfigPath} from '../config/paths.js'
import {ROLES} from '../config/roles.js'

/** What completion knows of a command: its id (topic words joined by ":") and its flags. */
export interface CompletableCommand {
  id: string
  flags: {name: string; char?: string; takesValue: boolean; options?: readonly string[]}[]
}

export interface CompleteOptions {
  /** The words after the program name, up to and including the word being completed ("" for a new word). */
  words: string[]
  commands: CompletableCommand[]
  /** bash splits "node=n1" at "=": it wants only the part after "=" back; zsh wants the whole word. */
  shell: 'bash' | 'zsh'
  env?: NodeJS.ProcessEnv
}

type Kind = 'context' | 'node' | 'target' | 'runbook'

/** Positional arguments that name something of the config: command id → the kind of each argument in order. */
const ARG_KINDS: Record<string, Kind[]> = {
  'config:use-context': ['context'],
  'node:remove': ['node'],
  'node:add': ['node'],
  'node:replace': ['node', 'node'],
  'vm:evacuate': ['node'],
  exec: ['target'],
  'runbook:run': ['runbook'],
  'runbook:show': ['runbook'],
  'runbook:lint': ['runbook'],
}

/** Flags whose value names a node (any command). */
const NODE_FLAGS = new Set(['to', 'host', 'node'])

/**
 * The candidates for the word being completed, one per line in the caller: command words, flags,
 * and the names only the config knows (contexts, nodes of the selected context, runbooks).
 * Never throws: a broken config completes nothing rather than printing an error into the prompt.
 */
export async function complete(o: CompleteOptions): Promise<string[]> {
  const words = joinEquals(o.words)
  const cur = words.at(-1) ?? ''
  const before = words.slice(0, -1)
  const prev = before.at(-1)
  const {command, used} = matchCommand(before, o.commands)
  const flagOf = (w: string | undefined) =>
    w === undefined || !w.startsWith('-')
      ? undefined
      : (command?.flags.find((f) => w === `--${f.name}` || (f.char && w === `-${f.char}`)) ??
        GLOBAL_FLAGS.find((f) => w === `--${f.name}`))
  const filter = (xs: string[]) => xs.filter((x) => x.startsWith(cur)).sort()
  const names = (kind: Kind) => namesOf(kind, before, o.env ?? process.env).catch(() => [] as string[])

  // The value of a flag.
  const pf = flagOf(prev)
  if (pf?.takesValue) {
    if (pf.name === 'context') return filter(await names('context'))
    if (NODE_FLAGS.has(pf.name)) return filter(await names('node'))
    if (pf.name === 'param') return paramCandidates(cur, await names('node'), o.shell)
    return filter([...(pf.options ?? [])])
  }
  if (cur.startsWith('-')) {
    const flags = [...(command?.flags ?? []), ...GLOBAL_FLAGS].map((f) => `--${f.name}`)
    return filter([...new Set(flags)])
  }
  // A command word: the next topic or command names under what is typed so far.
  const plain = leadingPlain(before)
  const prefix = plain.length > 0 ? `${plain.join(':')}:` : ''
  if (!command || used === plain.length) {
    const next = o.commands.filter((c) => c.id.startsWith(prefix)).map((c) => c.id.slice(prefix.length).split(':')[0])
    if (next.length > 0 || !command) return filter([...new Set(next)])
  }
  if (!command) return []
  // A positional argument.
  const kinds = ARG_KINDS[command.id] ?? []
  const position = positionals(before, command).length - used
  const kind = kinds[position]
  if (!kind) return []
  if (kind === 'target') {
    const nodes = await names('node')
    return filter([...nodes, 'all', 'leader', 'followers', ...ROLES.map((r) => `role:${r}`)])
  }
  return filter(await names(kind))
}

const GLOBAL_FLAGS: CompletableCommand['flags'] = [
  {name: 'config', takesValue: true},
  {name: 'context', takesValue: true},
  {name: 'debug', takesValue: false},
  {name: 'json', takesValue: false},
  {name: 'help', takesValue: false},
]

/** bash hands "node=n1" over as "node", "=", "n1": put it back together. */
function joinEquals(words: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < words.length; i++) {
    if (words[i] === '=' && out.length > 0) out[out.length - 1] += '=' + (words[i + 1] ?? '')
    else {
      out.push(words[i])
      continue
    }
    i++
  }
  return out
}

/** The longest run of leading non-flag words that is a command id. */
/** The command words: the leading words that are not flags, global flags (with their values) skipped. */
function leadingPlain(words: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < words.length; i++) {
    const w = words[i]
    if (!w.startsWith('-')) out.push(w)
    else if (GLOBAL_FLAGS.some((f) => f.takesValue && w === `--${f.name}`)) i++
    else if (!GLOBAL_FLAGS.some((f) => w.startsWith(`--${f.name}`))) break
  }
  return out
}

function matchCommand(words: string[], commands: CompletableCommand[]): {command?: CompletableCommand; used: number} {
  const plain = leadingPlain(words)
  for (let n = plain.length; n > 0; n--) {
    const id = plain.slice(0, n).join(':')
    const command = commands.find((c) => c.id === id)
    if (command) return {command, used: n}
  }
  return {used: 0}
}

/** The positional words in WORDS (flag values skipped). */
function positionals(words: string[], command: CompletableCommand): string[] {
  const out: string[] = []
  for (let i = 0; i < words.length; i++) {
    const w = words[i]
    if (w === '--') break
    if (w.startsWith('-')) {
      const f = [...command.flags, ...GLOBAL_FLAGS].find((x) => w === `--${x.name}` || (x.char && w === `-${x.char}`))
      if (f?.takesValue && !w.includes('=')) i++
      continue
    }
    out.push(w)
  }
  return out
}

function paramCandidates(cur: string, nodes: string[], shell: 'bash' | 'zsh'): string[] {
  if (!cur.includes('=')) return ['node='].filter((x) => x.startsWith(cur))
  const [key, value] = [cur.slice(0, cur.indexOf('=')), cur.slice(cur.indexOf('=') + 1)]
  if (key !== 'node') return []
  return nodes
    .filter((n) => n.startsWith(value))
    .sort()
    .map((n) => (shell === 'bash' ? n : `${key}=${n}`))
}

function flagValue(words: string[], name: string): string | undefined {
  for (let i = words.length - 1; i >= 0; i--) {
    if (words[i] === `--${name}`) return words[i + 1]
    if (words[i].startsWith(`--${name}=`)) return words[i].slice(name.length + 3)
  }
  return undefined
}

async function namesOf(kind: Kind, words: string[], env: NodeJS.ProcessEnv): Promise<string[]> {
  if (kind === 'runbook') {
    const {listRunbooks} = await import('../runbook/loader.js')
    return (await listRunbooks()).map((r) => r.name)
  }
  const loaded = await loadConfig(flagValue(words, 'config') ?? env.PLASMACTL_CONFIG ?? defaultConfigPath())
  if (kind === 'context') return loaded.config.contexts.map((c) => c.name)
  const ctx = selectContext(loaded, flagValue(words, 'context'))
  return ctx.nodes.filter((n) => !n.removed).map((n) => n.name)
}
