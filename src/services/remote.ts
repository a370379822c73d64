import {homedir} from 'node:os'
import {join} from 'node:path'
import {SshConnections, type SshConnectOptions, type SshExecOptions, type SshExecResult} from '../adapters/ssh/index.js'
import {configPath, nodeSsh, serviceCommand, type ServiceVerb} from '../config/context.js'
import {parseDuration} from '../config/duration.js'
import type {LoadedConfig} from '../config/load.js'
import type {Context, NodeSpec} from '../config/schema.js'
import {OperationError} from '../errors.js'

/** SSH settings of a context node: node values over context defaults over ~/.ssh defaults. */
export function sshOptionsFor(loaded: LoadedConfig, ctx: Context, node: NodeSpec): SshConnectOptions {
  const s = nodeSsh(ctx, node)
  const abs = (p?: string) => (p ? configPath(loaded, p) : undefined)
  return {
    host: node.address,
    port: s.port,
    username: s.user,
    identityFile: abs(s['identity-file']) ?? join(homedir(), '.ssh', 'id_ed25519'),
    knownHostsFile: abs(s['known-hosts']) ?? join(homedir(), '.ssh', 'known_hosts'),
    connectTimeoutMs: s['connect-timeout'] === undefined ? 10_000 : parseDuration(s['connect-timeout'], 'ssh.connect-timeout'),
    passphrase: process.env.PLASMACTL_SSH_PASSPHRASE,
  }
}

/** Commands on context nodes over one pooled SSH connection per node. */
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

  exec(node: NodeSpec, command: string, opts?: SshExecOptions): Promise<SshExecResult> {
    return this.pool.exec(this.optionsFor(node), command, opts)
  }

  /** Like exec, but a non-zero exit throws OperationError naming node, command and stderr. */
  async execChecked(node: NodeSpec, command: string, opts?: SshExecOptions): Promise<SshExecResult> {
    const r = await this.exec(node, command, opts)
    if (r.exitCode !== 0) {
      const why = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join('; ')
      throw new OperationError(`${node.name}: \`${command}\` failed (${r.signal ?? `exit ${r.exitCode}`})${why ? `: ${why}` : ''}`, {host: node.address, command})
    }
    return r
  }

  service(node: NodeSpec, component: string, verb: ServiceVerb, opts?: SshExecOptions): Promise<SshExecResult> {
    const cmd = serviceCommand(this.ctx, node, component, verb)
    return verb === 'is-active' ? this.exec(node, cmd, opts) : this.execChecked(node, cmd, opts)
  }

  async upload(node: NodeSpec, localPath: string, remotePath: string): Promise<void> {
    const client = await this.pool.get(this.optionsFor(node))
    await client.upload(localPath, remotePath)
  }

  /** A stream to a unix socket on the node, through the node's pooled SSH connection (stream-local forward). */
  async forward(node: NodeSpec, socketPath: string, opts?: {timeoutMs?: number}) {
    const client = await this.pool.get(sshOptionsFor(this.loaded, this.ctx, node))
    return client.forwardOutStreamLocal(socketPath, opts)
  }

  close(): Promise<void> {
    return this.pool.closeAll()
  }
}

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`
}
