import {existsSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {
  SftpFiles,
  SshConnections,
  type SshConnectOptions,
  type SshExecOptions,
  type SshExecResult,
} from '../adapters/ssh/index.js'
import {
  DEFAULT_SSH_CONFIG,
  expandProxyCommand,
  lookupSshHost,
  parseJumpHosts,
  readSshConfig,
} from '../adapters/ssh/ssh-config.js'
import {configPath, nodeSsh, serviceCommand, type ServiceVerb} from '../config/context.js'
import {parseDuration} from '../config/duration.js'
import type {LoadedConfig} from '../config/load.js'
import {
  type Context,
  type NodeSpec,
  SAFE_HOST_RE,
  SAFE_HOST_RULE,
  SAFE_USER_RE,
  SAFE_USER_RULE,
} from '../config/schema.js'
import {OperationError, RefusedError, UsageError} from '../errors.js'
import {shellQuote} from '../shell-quote.js'

/**
 * SSH settings of a context node. Precedence: the node's ssh settings, then the context's, then what
 * the OpenSSH client config (~/.ssh/config, or ssh.config-file) says for the node's address (so an
 * address may be a Host alias), then OpenSSH's defaults. The ssh-agent (SSH_AUTH_SOCK) is always offered.
 */
export function sshOptionsFor(loaded: LoadedConfig, ctx: Context, node: NodeSpec): SshConnectOptions {
  const s = nodeSsh(ctx, node)
  const abs = (p?: string) => (p ? configPath(loaded, p) : undefined)
  const sshConfigFile = s['config-file'] === 'none' ? undefined : (abs(s['config-file']) ?? DEFAULT_SSH_CONFIG)
  const sshConfig = sshConfigFile ? readSshConfig(sshConfigFile) : undefined
  const base: SshConnectOptions = {
    host: node.address,
    username: s.user ?? process.env.USER ?? 'root',
    knownHostsFile: abs(s['known-hosts']) ?? join(homedir(), '.ssh', 'known_hosts'),
    connectTimeoutMs:
      s['connect-timeout'] === undefined ? 10_000 : parseDuration(s['connect-timeout'], 'ssh.connect-timeout'),
    passphrase: process.env.PLASMACTL_SSH_PASSPHRASE,
    askPassphrase: process.stdin.isTTY && process.stderr.isTTY ? askPassphrase : undefined,
    agent: process.env.SSH_AUTH_SOCK || undefined,
  }
  return resolveHost(base, node.address, s, sshConfig, abs(s['identity-file']), s['jump-host'])
}

/** Fills host, port, user, identity and jump hosts of one hop from explicit settings, then ssh_config. */
function resolveHost(
  base: SshConnectOptions,
  alias: string,
  explicit: {user?: string; port?: number; 'known-hosts'?: string},
  sshConfig: ReturnType<typeof readSshConfig>,
  identityFile: string | undefined,
  jumpSpec: string | undefined,
  depth = 0,
): SshConnectOptions {
  if (depth > 8)
    throw new UsageError(
      `ssh: more than 8 nested jump hosts on the way to ${alias}: is there a ProxyJump loop in the SSH config?`,
      {host: alias},
    )
  // Names from plasmactl's config, URLs and jump hosts (not the operator's own ssh_config, as in OpenSSH).
  if (!SAFE_HOST_RE.test(alias))
    throw new UsageError(`ssh: refusing host "${alias}": expected ${SAFE_HOST_RULE}`, {host: alias})
  if (explicit.user !== undefined && !SAFE_USER_RE.test(explicit.user))
    throw new UsageError(`ssh: refusing user "${explicit.user}" for ${alias}: expected ${SAFE_USER_RULE}`, {
      host: alias,
    })
  const h = lookupSshHost(sshConfig, alias)
  const configured = h.identityFiles.filter((f) => existsSync(f))
  const identity = identityFile ?? configured[0] ?? DEFAULT_IDENTITIES.find((f) => existsSync(f))
  const knownFiles = explicit['known-hosts']
    ? [base.knownHostsFile]
    : h.userKnownHostsFiles.length > 0
      ? h.userKnownHostsFiles
      : [base.knownHostsFile]
  const opts: SshConnectOptions = {
    ...base,
    host: h.hostName ?? alias,
    port: explicit.port ?? h.port ?? 22,
    username: explicit.user ?? h.user ?? base.username,
    knownHostsFile: knownFiles[0],
    extraKnownHostsFiles: knownFiles.slice(1),
    identityFile: identity,
    // Every IdentityFile of the SSH config is tried in order until one is accepted, as ssh does.
    extraIdentityFiles: identityFile ? [] : configured.slice(1),
    // IdentitiesOnly: the identity file alone, not every key in the agent (servers cut a client off
    // after MaxAuthTries keys); the agent still serves when no identity file exists.
    agent: h.identitiesOnly && identity ? undefined : base.agent,
    hostKeyAlias: h.hostKeyAlias,
    jump: undefined,
    proxyCommand: undefined,
  }
  if (jumpSpec === 'none') return opts
  if (!jumpSpec && h.proxyCommand) {
    return {
      ...opts,
      proxyCommand: expandProxyCommand(h.proxyCommand, {h: opts.host, p: opts.port ?? 22, r: opts.username, n: alias}),
    }
  }
  // ssh -J A,B host: connect to A, through A to B, through B to the host. Each hop is looked up in
  // ssh_config too. As with ssh, the first hop follows its own ProxyJump or ProxyCommand (a bastion
  // behind a bastion); the later hops are reached through the chain as given. A hop without a user
  // logs in as the node's user, with plasmactl's identity and known_hosts when set.
  const hops = parseJumpHosts(
    jumpSpec ?? h.proxyJump ?? '',
    jumpSpec ? 'ssh.jump-host' : `ProxyJump of ${alias} in ssh config`,
  )
  let jump: SshConnectOptions | undefined
  for (const [i, hop] of hops.entries()) {
    const hopExplicit = {user: hop.user, port: hop.port, 'known-hosts': explicit['known-hosts']}
    const hopOpts = resolveHost(
      {...base, username: opts.username},
      hop.host,
      hopExplicit,
      sshConfig,
      identityFile,
      i === 0 ? undefined : 'none',
      depth + 1,
    )
    jump = i === 0 ? hopOpts : {...hopOpts, jump}
  }
  return {...opts, jump}
}

const DEFAULT_IDENTITIES = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(homedir(), '.ssh', f))

async function askPassphrase(file: string): Promise<string> {
  const {password} = await import('@inquirer/prompts')
  return password({message: `Passphrase for ${file}:`, mask: false}, {output: process.stderr})
}

/** Commands on context nodes over pooled SSH connections (one per resolved connection identity). */
export class Remote {
  private readonly pool = new SshConnections()

  constructor(
    private readonly loaded: LoadedConfig,
    private readonly ctx: Context,
    /** Per-run SSH overrides (e.g. hostKeyPolicy 'accept-new' from --accept-new-host-keys). */
    private readonly overrides: Partial<SshConnectOptions> = {},
  ) {}

  private optionsFor(node: NodeSpec): SshConnectOptions {
    return {...sshOptionsFor(this.loaded, this.ctx, node), ...this.overrides}
  }

  /**
   * Runs COMMAND on the node. A command run through `sudo -n` (execSudo, or a service command with
   * ssh.sudo) never prompts: when sudo wants a password the run is refused (exit 6) with what to
   * configure, instead of failing like the command itself.
   */
  async exec(node: NodeSpec, command: string, opts?: SshExecOptions): Promise<SshExecResult> {
    const r = await this.pool.exec(this.optionsFor(node), command, opts)
    return command.startsWith(SUDO_PREFIX) ? refuseSudoPassword(node, r) : r
  }

  /** Like exec, but a non-zero exit throws OperationError naming node, command and stderr. */
  async execChecked(node: NodeSpec, command: string, opts?: SshExecOptions): Promise<SshExecResult> {
    return checked(node, command, await this.exec(node, command, opts))
  }

  /** Runs COMMAND as root through `sudo -n sh -c` (see exec for a sudo that wants a password). */
  execSudo(node: NodeSpec, command: string, opts?: SshExecOptions): Promise<SshExecResult> {
    return this.exec(node, sudoCommand(command), opts)
  }

  service(node: NodeSpec, component: string, verb: ServiceVerb, opts?: SshExecOptions): Promise<SshExecResult> {
    const cmd = serviceCommand(this.ctx, node, component, verb)
    return verb === 'is-active' ? this.exec(node, cmd, opts) : this.execChecked(node, cmd, opts)
  }

  async upload(node: NodeSpec, localPath: string, remotePath: string): Promise<void> {
    const client = await this.pool.get(this.optionsFor(node))
    await client.upload(localPath, remotePath)
  }

  /** Copies a file from the node over SFTP. */
  async download(node: NodeSpec, remotePath: string, localPath: string): Promise<void> {
    await new SftpFiles(await this.pool.get(this.optionsFor(node))).download(remotePath, localPath)
  }

  /** A stream to a unix socket on the node, through the node's pooled SSH connection (stream-local forward). */
  async forward(node: NodeSpec, socketPath: string, opts?: {timeoutMs?: number}) {
    const client = await this.pool.get(this.optionsFor(node))
    return client.forwardOutStreamLocal(socketPath, opts)
  }

  close(): Promise<void> {
    return this.pool.closeAll()
  }
}

function checked(node: NodeSpec, command: string, r: SshExecResult): SshExecResult {
  if (r.exitCode !== 0) {
    const why = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join('; ')
    throw new OperationError(
      `${node.name}: \`${command}\` failed (${r.signal ?? `exit ${r.exitCode}`})${why ? `: ${why}` : ''}`,
      {host: node.address, command},
    )
  }
  return r
}

const SUDO_PREFIX = 'sudo -n '
const SUDO_PASSWORD = /sudo: (a password is required|a terminal is required|no tty present)/

/** COMMAND as `sudo -n sh -c '…'`: what execSudo runs and what a dry run shows. */
export function sudoCommand(command: string): string {
  return `${SUDO_PREFIX}sh -c ${shellQuote(command)}`
}

/** Throws RefusedError when a `sudo -n` run failed because sudo wants a password; else returns R. */
function refuseSudoPassword(node: NodeSpec, r: SshExecResult): SshExecResult {
  if (r.exitCode !== 0 && SUDO_PASSWORD.test(r.stderr)) {
    throw new RefusedError(
      `${node.name}: sudo wants a password for the SSH user; plasmactl only runs sudo -n (configure NOPASSWD in sudoers for what plasmactl runs)`,
      {
        host: node.address,
        hint: 'or connect as a user that needs no sudo (ssh.sudo: false)',
      },
    )
  }
  return r
}
