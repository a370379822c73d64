import {spawnSync} from 'node:child_process'
import {readdirSync, readFileSync} from 'node:fs'
import {homedir, hostname, userInfo} from 'node:os'
import {basename, dirname, isAbsolute, join} from 'node:path'
import {UsageError} from '../../errors.js'
import {shellQuote} from '../../shell-quote.js'

/** What OpenSSH's client config says about one host (only the keywords plasmactl honours). */
export interface SshConfigHost {
  hostName?: string
  port?: number
  user?: string
  identityFiles: string[]
  proxyJump?: string
  /** Unexpanded: its %h %p %r depend on the final host, port and user (see expandProxyCommand). */
  proxyCommand?: string
  userKnownHostsFiles: string[]
  /** Offer only the identity file, not every key the agent holds. */
  identitiesOnly: boolean
  hostKeyAlias?: string
}

/** One hop of a jump-host chain: "[user@]host[:port]", "[user@][v6]:port" or "ssh://[user@]host[:port]". */
export interface JumpHop {
  user?: string
  host: string
  port?: number
}

export const DEFAULT_SSH_CONFIG = join(homedir(), '.ssh', 'config')

/** One line of an ssh_config file: its keyword (lower-case), arguments, and for Include the files it reads. */
interface Line {
  keyword: string
  args: string[]
  line: number
  include?: SshConfig[]
}

/** A parsed OpenSSH client config file, evaluated per host by lookupSshHost as ssh(1) does. */
export interface SshConfig {
  path: string
  lines: Line[]
}

const parsedConfigs = new Map<string, SshConfig | undefined>()

/** Parses an OpenSSH client config once per process (Include directives followed); a missing file is an empty config. */
export function readSshConfig(path: string): SshConfig | undefined {
  if (!parsedConfigs.has(path)) parsedConfigs.set(path, readConfigFile(path, 0))
  return parsedConfigs.get(path)
}

function readConfigFile(path: string, depth: number): SshConfig | undefined {
  if (depth > 16) throw new UsageError(`SSH config ${path}: Include nested more than 16 deep`, {file: path})
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new UsageError(`cannot read SSH config ${path}: ${(error as Error).message}`, {file: path})
  }
  return parseSshConfig(text, path, depth)
}

/** Splits an argument string as ssh does: whitespace-separated words, "double quotes" group. */
function words(text: string, where: string): string[] {
  const out: string[] = []
  const re = /"([^"]*)"|(\S+)/g
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(m[1] ?? m[2])
  if ((text.match(/"/g)?.length ?? 0) % 2 === 1) throw new UsageError(`${where}: unbalanced quotes`)
  return out
}

/** Keywords ssh refuses with more than one argument (a value with spaces must be quoted). */
const SINGLE_ARGUMENT = new Set([
  'hostname',
  'user',
  'port',
  'proxyjump',
  'hostkeyalias',
  'identitiesonly',
  'identityfile',
])

const RAW_KEYWORDS = new Set(['proxycommand', 'localcommand', 'remotecommand', 'knownhostscommand'])

/** Parses ssh_config text: `Keyword args`, `Keyword=args`, comments and blank lines; Include read in place. */
export function parseSshConfig(text: string, path = '(ssh config)', depth = 0): SshConfig {
  const lines: Line[] = []
  text.split(/\r?\n/).forEach((raw, i) => {
    const m = /^\s*([A-Za-z][A-Za-z0-9]*)(?:\s*=\s*|\s+)(.*?)\s*$/.exec(raw)
    if (!m || raw.trimStart().startsWith('#')) return
    const keyword = m[1].toLowerCase()
    // Commands are the rest of the line, verbatim (quotes included), as ssh reads them.
    const args = RAW_KEYWORDS.has(keyword) ? [m[2]] : words(m[2], `${path}:${i + 1}`)
    if (SINGLE_ARGUMENT.has(keyword) && args.length > 1)
      throw new UsageError(
        `${path}:${i + 1}: keyword ${keyword} extra arguments at end of line (quote a value with spaces)`,
        {file: path, line: i + 1},
      )
    const line: Line = {keyword, args, line: i + 1}
    if (keyword === 'include')
      line.include = args.flatMap((p) => includedFiles(p, path)).flatMap((f) => readConfigFile(f, depth + 1) ?? [])
    lines.push(line)
  })
  return {path, lines}
}

function includedFiles(pattern: string, from: string): string[] {
  const home = homedir()
  const base0 = from.startsWith('/etc/ssh/') ? '/etc/ssh' : join(home, '.ssh')
  const abs =
    pattern === '~' || pattern.startsWith('~/')
      ? join(home, pattern.slice(1))
      : isAbsolute(pattern)
        ? pattern
        : join(base0, pattern)
  const dir = dirname(abs)
  const base = basename(abs)
  if (!/[*?[]/.test(base)) return [abs]
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  return names
    .filter((n) => globMatch(base, n, false) && !n.startsWith('.'))
    .sort()
    .map((n) => join(dir, n))
}

/** OpenSSH's match_pattern: `*` any run of characters, `?` exactly one. */
function globMatch(pattern: string, s: string, caseFold = true): boolean {
  const p = caseFold ? pattern.toLowerCase() : pattern
  const t = caseFold ? s.toLowerCase() : s
  const re = new RegExp(
    `^${p
      .replaceAll(/[.+^${}()|[\]\\]/g, '\\$&')
      .replaceAll('*', '.*')
      .replaceAll('?', '.')}$`,
    's',
  )
  return re.test(t)
}

/** A comma-separated pattern list with `!negations` (match_pattern_list): a negated match vetoes. */
function matchList(list: string, s: string, caseFold = true): boolean {
  let matched = false
  for (const pat of list.split(',')) {
    if (pat.startsWith('!')) {
      if (globMatch(pat.slice(1), s, caseFold)) return false
    } else if (globMatch(pat, s, caseFold)) matched = true
  }
  return matched
}

interface EvalState {
  /** First obtained value wins; list keywords (IdentityFile) accumulate. */
  options: Map<string, string[]>
  order: string[]
  originalHost: string
  finalPass: boolean
  wantFinal: boolean
}

const ACCUMULATE = new Set([
  'identityfile',
  'certificatefile',
  'localforward',
  'remoteforward',
  'dynamicforward',
  'sendenv',
  'setenv',
])

function setOption(st: EvalState, keyword: string, args: string[]): void {
  if (ACCUMULATE.has(keyword)) {
    const prev = st.options.get(keyword) ?? []
    if (!st.options.has(keyword)) st.order.push(keyword)
    st.options.set(keyword, [...prev, ...args])
    return
  }
  if (st.options.has(keyword)) return
  st.options.set(keyword, args)
  st.order.push(keyword)
}

function first(st: EvalState, keyword: string): string | undefined {
  return st.options.get(keyword)?.[0]
}

/** The host `Match host` sees: the HostName so far with %h expanded, else the name as given. */
function currentHost(st: EvalState): string {
  const hn = first(st, 'hostname')
  return hn === undefined ? st.originalHost : hn.replaceAll('%h', st.originalHost)
}

/** One `Match` line (match_cfg_line): every criterion must hold; `!` negates one. */
function matchLine(args: string[], st: EvalState, where: string): boolean {
  if (args.length === 0) throw new UsageError(`${where}: Match needs criteria`)
  let result = true
  for (let i = 0; i < args.length; i++) {
    const raw = args[i].toLowerCase()
    const negate = raw.startsWith('!')
    const crit = negate ? raw.slice(1) : raw
    let ok: boolean
    if (crit === 'all') ok = true
    else if (crit === 'canonical') ok = false
    else if (crit === 'final') {
      st.wantFinal = true
      ok = st.finalPass
    } else {
      const arg = args[++i]
      if (arg === undefined) throw new UsageError(`${where}: Match ${crit} needs an argument`)
      const user = first(st, 'user') ?? localUser()
      const port = first(st, 'port') ?? '22'
      switch (crit) {
        case 'host':
          ok = matchList(arg, currentHost(st))
          break
        case 'originalhost':
          ok = matchList(arg, st.originalHost)
          break
        case 'user':
          ok = matchList(arg, user, false)
          break
        case 'localuser':
          ok = matchList(arg, localUser(), false)
          break
        case 'exec': {
          // As ssh: the command, tokens expanded, run by /bin/sh -c; exit 0 is a match.
          const cmd = expandTokens(arg, {h: currentHost(st), n: st.originalHost, p: port, r: user})
          ok = spawnSync('/bin/sh', ['-c', cmd], {stdio: 'ignore', timeout: 30_000}).status === 0
          break
        }
        default:
          throw new UsageError(`${where}: unsupported Match criterion "${crit}"`)
      }
    }
    if (negate) ok = !ok
    if (!ok) result = false
  }
  return result
}

function evaluate(cfg: SshConfig, st: EvalState, active: boolean, neverMatch: boolean): boolean {
  for (const l of cfg.lines) {
    const where = `${cfg.path}:${l.line}`
    if (l.keyword === 'host') {
      let matched = false
      let negated = false
      for (const pat of l.args) {
        // Host patterns are case-sensitive (Match host/originalhost are not), as in ssh.
        if (pat.startsWith('!')) {
          if (globMatch(pat.slice(1), st.originalHost, false)) negated = true
        } else if (globMatch(pat, st.originalHost, false)) matched = true
      }
      active = !neverMatch && matched && !negated
    } else if (l.keyword === 'match') {
      active = !neverMatch && matchLine(l.args, st, where)
    } else if (l.keyword === 'include') {
      // The included files continue the current block; the lines after Include still belong to it.
      for (const inc of l.include ?? []) evaluate(inc, st, active, neverMatch || !active)
    } else if (active) setOption(st, l.keyword, l.args)
  }
  return active
}

/**
 * The settings for ALIAS as ssh(1) computes them (`ssh -G`): first obtained value wins per keyword,
 * Host patterns match the name as given, `Match` criteria see the HostName so far (%h expanded),
 * the User so far, and run `exec` commands with /bin/sh -c; `Match final` gets a second pass.
 * "~", ${ENV} and the tokens %h %p %r %u %d %n %% are expanded in paths.
 */
export function lookupSshHost(config: SshConfig | undefined, alias: string): SshConfigHost {
  const st: EvalState = {options: new Map(), order: [], originalHost: alias, finalPass: false, wantFinal: false}
  if (config) {
    evaluate(config, st, true, false)
    if (st.wantFinal) {
      st.finalPass = true
      evaluate(config, st, true, false)
    }
  }
  const str = (k: string): string | undefined => first(st, k)
  const list = (k: string): string[] => st.options.get(k) ?? []
  const hostName = str('hostname')?.replaceAll('%h', alias)
  const port = str('port') === undefined ? undefined : Number(str('port'))
  const user = str('user')
  const tokens = {h: hostName ?? alias, n: alias, p: String(port ?? 22), r: user ?? localUser()}
  const path = (p: string) => expandPath(p, tokens)
  // ProxyJump and ProxyCommand compete: whichever the config gives first wins (ssh_config(5)).
  const jumpFirst =
    !st.options.has('proxycommand') ||
    (st.options.has('proxyjump') && st.order.indexOf('proxyjump') < st.order.indexOf('proxycommand'))
  const proxyJump = jumpFirst ? str('proxyjump') : undefined
  const proxyCommand = jumpFirst ? undefined : str('proxycommand')
  return {
    hostName,
    port: Number.isInteger(port) ? port : undefined,
    user,
    identityFiles: list('identityfile').map(path),
    proxyJump: proxyJump?.toLowerCase() === 'none' ? undefined : proxyJump,
    proxyCommand: proxyCommand?.toLowerCase() === 'none' ? undefined : proxyCommand,
    userKnownHostsFiles: list('userknownhostsfile').map(path),
    identitiesOnly: str('identitiesonly')?.toLowerCase() === 'yes',
    hostKeyAlias: str('hostkeyalias'),
  }
}

/**
 * ProxyCommand tokens: %h host, %p port, %r user, %n the name as given, %% a percent sign. Each value
 * is shell-quoted (plain names stay as they are), in one pass: a name never runs as shell code.
 */
export function expandProxyCommand(command: string, t: {h: string; p: number; r: string; n: string}): string {
  return command.replaceAll(/%([%hprn])/g, (_, k: string) =>
    k === '%' ? '%' : shellQuote(String(t[k as 'h' | 'p' | 'r' | 'n'])),
  )
}

function localUser(): string {
  try {
    return userInfo().username
  } catch {
    return process.env.USER ?? 'root'
  }
}

/** Tokens ssh expands in paths and Match exec: %% %d %h %i %L %l %n %p %r %u. */
function expandTokens(p: string, t: {h: string; n: string; p: string; r: string}): string {
  const local = hostname()
  const table: Record<string, string> = {
    '%': '%',
    d: homedir(),
    h: t.h,
    i: String(process.getuid?.() ?? ''),
    L: local.split('.')[0],
    l: local,
    n: t.n,
    p: t.p,
    r: t.r,
    u: localUser(),
  }
  return p.replaceAll(/%([%dhiLlnpru])/g, (_, k: string) => table[k])
}

function expandPath(p: string, tokens: {h: string; n: string; p: string; r: string}): string {
  const home = homedir()
  const withEnv = p.replaceAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, v: string) => process.env[v] ?? '')
  const expanded = expandTokens(withEnv, tokens)
  return expanded === '~' ? home : expanded.startsWith('~/') ? join(home, expanded.slice(2)) : expanded
}

/** Parses a ProxyJump value (comma-separated hops, the first hop is connected to first). */
export function parseJumpHosts(spec: string, where = 'jump-host'): JumpHop[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((hop) => {
      const m = /^(?:ssh:\/\/)?(?:([^@/\s]+)@)?(\[[^\]]+\]|[^:@/\s[\]]+)(?::(\d+))?\/?$/.exec(hop)
      const port = m?.[3] === undefined ? undefined : Number(m[3])
      if (!m || (port !== undefined && (port < 1 || port > 65_535))) {
        throw new UsageError(
          `${where}: cannot parse jump host "${hop}" (expected [user@]host[:port], comma-separated for a chain)`,
          {value: spec},
        )
      }
      return {user: m[1], host: m[2].replace(/^\[(.*)\]$/, '$1'), port}
    })
}
