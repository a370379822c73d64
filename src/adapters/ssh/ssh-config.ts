import {readdirSync, readFileSync} from 'node:fs'
import {homedir, userInfo} from 'node:os'
import {basename, dirname, isAbsolute, join} from 'node:path'
import SSHConfig from 'ssh-config'
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

const parsedConfigs = new Map<string, SSHConfig | undefined>()

/** Parses an OpenSSH client config once per process (Include directives followed); a missing file is an empty config. */
export function readSshConfig(path: string): SSHConfig | undefined {
  if (parsedConfigs.has(path)) return parsedConfigs.get(path)
  const text = readConfigText(path, 0)
  let config: SSHConfig | undefined
  try {
    config = text === undefined ? undefined : SSHConfig.parse(text)
  } catch (error) {
    throw new UsageError(`cannot parse SSH config ${path}: ${(error as Error).message}`, {file: path})
  }
  parsedConfigs.set(path, config)
  return config
}

/**
 * The text of an SSH config with its Include directives replaced by the files they name, in place
 * (so an Include inside a Host block stays conditional on it, as in ssh_config(5)). Relative paths
 * are taken from ~/.ssh; `*` and `?` match within the last path component; matches in lexical order.
 */
function readConfigText(path: string, depth: number): string | undefined {
  if (depth > 16) throw new UsageError(`SSH config ${path}: Include nested more than 16 deep`, {file: path})
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new UsageError(`cannot read SSH config ${path}: ${(error as Error).message}`, {file: path})
  }
  return text.replaceAll(/^[ \t]*include[ \t]+(.+?)[ \t]*$/gim, (_line, args: string) =>
    (args.match(/"[^"]*"|\S+/g) ?? [])
      .map((a) => a.replace(/^"(.*)"$/, '$1'))
      .flatMap((p) => includedFiles(p))
      .map((f) => readConfigText(f, depth + 1) ?? '')
      .join('\n'),
  )
}

function includedFiles(pattern: string): string[] {
  const home = homedir()
  const abs = pattern === '~' || pattern.startsWith('~/') ? join(home, pattern.slice(1)) : isAbsolute(pattern) ? pattern : join(home, '.ssh', pattern)
  const dir = dirname(abs)
  const base = basename(abs)
  if (!/[*?]/.test(base)) return [abs]
  const re = new RegExp(`^${base.replaceAll(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')}$`)
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  return names
    .filter((n) => re.test(n) && !n.startsWith('.'))
    .sort()
    .map((n) => join(dir, n))
}

/**
 * The settings for ALIAS, first match wins per keyword as in ssh(1). Keywords are case-insensitive;
 * "~" and the tokens %h %p %r %u %d %% are expanded in paths.
 */
export function lookupSshHost(config: SSHConfig | undefined, alias: string): SshConfigHost {
  const raw: Record<string, unknown> = {}
  if (config) {
    for (const [k, v] of Object.entries(config.compute(alias))) {
      const key = k.toLowerCase()
      if (key === 'host' || key in raw) continue
      raw[key] = v
    }
  }
  const str = (k: string): string | undefined => {
    const v = raw[k]
    return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined
  }
  const list = (k: string): string[] => {
    const v = raw[k]
    return Array.isArray(v) ? v.map(String) : typeof v === 'string' ? [v] : []
  }
  const hostName = str('hostname')?.replaceAll('%h', alias)
  const port = str('port') === undefined ? undefined : Number(str('port'))
  const user = str('user')
  const tokens = {h: hostName ?? alias, p: String(port ?? 22), r: user ?? localUser()}
  const path = (p: string) => expandPath(p, tokens)
  // ProxyJump and ProxyCommand compete: whichever the config gives first wins (ssh_config(5)).
  const keys = Object.keys(raw)
  const jumpFirst = !keys.includes('proxycommand') || (keys.includes('proxyjump') && keys.indexOf('proxyjump') < keys.indexOf('proxycommand'))
  const proxyJump = jumpFirst ? str('proxyjump') : undefined
  const proxyCommand = jumpFirst ? undefined : str('proxycommand')
  return {
    hostName,
    port: Number.isInteger(port) ? port : undefined,
    user,
    identityFiles: list('identityfile').map(path),
    proxyJump: proxyJump?.toLowerCase() === 'none' ? undefined : proxyJump,
    proxyCommand: proxyCommand?.toLowerCase() === 'none' ? undefined : proxyCommand,
    userKnownHostsFiles: list('userknownhostsfile').flatMap((s) => s.split(/\s+/)).filter(Boolean).map(path),
    identitiesOnly: str('identitiesonly')?.toLowerCase() === 'yes',
    hostKeyAlias: str('hostkeyalias'),
  }
}

/**
 * ProxyCommand tokens: %h host, %p port, %r user, %n the name as given, %% a percent sign. Each value
 * is shell-quoted (plain names stay as they are), in one pass: a name never runs as shell code.
 */
export function expandProxyCommand(command: string, t: {h: string; p: number; r: string; n: string}): string {
  return command.replaceAll(/%([%hprn])/g, (_, k: string) => (k === '%' ? '%' : shellQuote(String(t[k as 'h' | 'p' | 'r' | 'n']))))
}

function localUser(): string {
  try {
    return userInfo().username
  } catch {
    return process.env.USER ?? 'root'
  }
}

function expandPath(p: string, tokens: {h: string; p: string; r: string}): string {
  const home = homedir()
  const expanded = p.replaceAll(/%([%hprud])/g, (_, t: string) => ({'%': '%', h: tokens.h, p: tokens.p, r: tokens.r, u: localUser(), d: home})[t] ?? '')
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
        throw new UsageError(`${where}: cannot parse jump host "${hop}" (expected [user@]host[:port], comma-separated for a chain)`, {value: spec})
      }
      return {user: m[1], host: m[2].replace(/^\[(.*)\]$/, '$1'), port}
    })
}
