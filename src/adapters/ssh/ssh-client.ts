import {randomBytes} from 'node:crypto'
import {spawn} from 'node:child_process'
import {readFile} from 'node:fs/promises'
import {Duplex} from 'node:stream'
// ssh2 is CommonJS: Node's ESM loader does not see all of its named exports, so use the default export.
import ssh2, {
  type AgentAuthMethod,
  type AuthMethod,
  type ClientChannel,
  type ConnectConfig,
  type ParsedKey,
  type PublicKeyAuthMethod,
  type SFTPWrapper,
} from 'ssh2'
import {OperationError, UsageError} from '../../errors.js'
import {shellQuote} from '../../shell-quote.js'
import {HostKeyRefusedError} from './errors.js'
import {
  appendKnownHost,
  checkHostKey,
  fingerprintSha256,
  keyTypeOf,
  knownHostName,
  knownKeyTypes,
  loadKnownHostsFiles,
} from './known-hosts.js'

/** What to do with a host whose key is not in known_hosts yet (a changed key is always refused). */
export type HostKeyPolicy = 'strict' | 'accept-new'

export interface SshConnectOptions {
  host: string
  port?: number
  username: string
  /** Path of the private key; or pass the key itself in privateKey. */
  identityFile?: string
  privateKey?: string | Buffer
  passphrase?: string
  /** Asked for the passphrase of an encrypted identity file when none was given (a TTY prompt). */
  askPassphrase?: (identityFile: string) => Promise<string>
  /** ssh-agent socket (SSH_AUTH_SOCK); its keys are tried after the identity file. */
  agent?: string
  /** Reach the host through this jump host (ProxyJump); nest for a chain, the outermost hop last. */
  jump?: SshConnectOptions
  /** An open connection to opts.jump to tunnel through (left open on close); default: a private one. */
  via?: SshClient
  /**
   * Reach the host through a local command's stdin/stdout (OpenSSH ProxyCommand, tokens already
   * expanded), run by /bin/sh; ignored when a jump host is given.
   */
  proxyCommand?: string
  /** Look the host key up under this name instead of host:port (OpenSSH HostKeyAlias). */
  hostKeyAlias?: string
  knownHostsFile: string
  /** More known_hosts files read after knownHostsFile (UserKnownHostsFile a b); new keys go to the first. */
  extraKnownHostsFiles?: string[]
  /** More IdentityFiles (ssh_config order), offered after identityFile until one is accepted. */
  extraIdentityFiles?: string[]
  hostKeyPolicy?: HostKeyPolicy
  /** TCP connect + handshake + authentication (default 10 s). */
  connectTimeoutMs?: number
  /** SSH-level keepalive interval (default 15 s; 0 disables). */
  keepaliveIntervalMs?: number
  /** Commands run at once on this connection; more wait their turn (default 10, OpenSSH's MaxSessions). */
  maxChannels?: number
}

export interface SshExecOptions {
  /** Kill the command (signal KILL, close the channel) and throw after this long (counted from its start, not its wait for a channel). */
  timeoutMs?: number
  /** Written to the command's stdin, which is then closed. */
  stdin?: string | Buffer
}

export interface SshExecResult {
  stdout: string
  stderr: string
  /** null when the command was killed by a signal. */
  exitCode: number | null
  signal: string | null
}

export interface HostKeyInfo {
  type: string
  fingerprint: string
}

export {HostKeyRefusedError} from './errors.js'

/**
 * The transport failed (connect, handshake, connection lost mid-command, channel refused): retryable,
 * and told apart from a command that ran and failed.
 */
export class SshConnectionError extends OperationError {
  readonly failure = 'connection' as const
}

/** No SSH handshake within the connect timeout: the host accepts TCP but does not answer (a hung sshd). */
export class SshHandshakeTimeoutError extends SshConnectionError {}

/** The command outlived its timeout and was killed. */
export class SshCommandTimeoutError extends OperationError {}

/** True for either timeout: the host (or its command) did not answer in time. */
export function isSshTimeout(error: unknown): boolean {
  return error instanceof SshHandshakeTimeoutError || error instanceof SshCommandTimeoutError
}

/**
 * A handshake the server cut off before it began: sshd over its MaxStartups drops new connections
 * (reset, or closed before the banner). Worth retrying with backoff; a refused port or a timeout is not.
 */
export function isHandshakeDropped(error: unknown): boolean {
  if (!(error instanceof SshConnectionError) || error instanceof SshHandshakeTimeoutError) return false
  const cause = (error.details as {cause?: unknown} | undefined)?.cause
  return (
    cause === 'ECONNRESET' ||
    cause === 'EPIPE' ||
    /connection closed during the handshake|Connection lost before handshake/i.test(error.message)
  )
}

const HOST_KEY_ALGORITHMS: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
}

/**
 * One SSH connection to one host; exec() opens a channel per command on it, so several commands
 * (also concurrently, up to the server's MaxSessions) share one handshake.
 */
export class SshClient {
  readonly host: string
  readonly port: number
  readonly username: string
  readonly hostKey: HostKeyInfo
  private readonly conn: InstanceType<typeof ssh2.Client>
  private isClosed = false
  private lastError: Error | undefined
  private sftpSession: Promise<SFTPWrapper> | undefined
  private readonly maxChannels: number
  private openChannels = 0
  private readonly waiting: (() => void)[] = []

  private constructor(conn: InstanceType<typeof ssh2.Client>, opts: SshConnectOptions, hostKey: HostKeyInfo) {
    this.conn = conn
    this.host = opts.host
    this.port = opts.port ?? 22
    this.username = opts.username
    this.hostKey = hostKey
    this.maxChannels = Math.max(1, opts.maxChannels ?? 10)
    conn.on('error', (err) => {
      this.lastError = err
    })
    conn.on('close', () => {
      this.isClosed = true
    })
  }

  /** "user@host:port", as used in messages. */
  get target(): string {
    return `${this.username}@${knownHostName(this.host, this.port)}`
  }

  get closed(): boolean {
    return this.isClosed
  }

  static async connect(opts: SshConnectOptions): Promise<SshClient> {
    const port = opts.port ?? 22
    const where = `${opts.username}@${knownHostName(opts.host, port)}`
    const details = {host: opts.host, port, user: opts.username}
    const privateKey = await usableKey(opts, where, details)
    // Further IdentityFiles are offered in order, as ssh does; one that cannot be used is skipped.
    const extraKeys = (
      await Promise.all(
        (opts.extraIdentityFiles ?? []).map((f) =>
          usableKey({...opts, identityFile: f, privateKey: undefined, askPassphrase: undefined}, where, details).catch(
            () => undefined,
          ),
        ),
      )
    ).filter((k): k is ParsedKey => k !== undefined)
    if (!privateKey && extraKeys.length === 0 && !opts.agent) {
      throw new UsageError(
        `no identity for ${where}: set ssh.identity-file, add an IdentityFile to ~/.ssh/config, or run ssh-agent (SSH_AUTH_SOCK)`,
        details,
      )
    }

    const known = await loadKnownHostsFiles([opts.knownHostsFile, ...(opts.extraKnownHostsFiles ?? [])])
    // With HostKeyAlias the key is filed under the alias alone, whatever the port (as ssh does).
    const keyHost = opts.hostKeyAlias ?? opts.host
    const keyPort = opts.hostKeyAlias ? 22 : port
    const types = knownKeyTypes(known.entries, keyHost, keyPort)
    const serverHostKey = types.flatMap((t) => HOST_KEY_ALGORITHMS[t] ?? [])

    let refusal: Error | undefined
    let presented: HostKeyInfo | undefined
    let acceptNew: Buffer | undefined
    const hostVerifier = (key: Buffer): boolean => {
      presented = {type: keyTypeOf(key) ?? 'unknown', fingerprint: fingerprintSha256(key)}
      const verdict = checkHostKey(known.entries, keyHost, keyPort, key)
      if (verdict.status === 'match') return true
      if (verdict.status === 'unknown' && !verdict.certAuthority && opts.hostKeyPolicy === 'accept-new') {
        acceptNew = key
        return true
      }
      refusal = hostKeyRefusal(verdict, {...opts, host: keyHost}, keyPort, presented, details)
      return false
    }

    let bastion: SshClient | undefined
    let sock: ClientChannel | Duplex | undefined
    let proxy: ProxyProcess | undefined
    if (!opts.jump && opts.proxyCommand) {
      // Through a local command (ProxyCommand): the connection runs over its stdin and stdout.
      proxy = startProxyCommand(opts.proxyCommand)
      sock = proxy.sock
    }
    if (opts.jump) {
      // Through a jump host: the bastion opens a TCP connection to the host (direct-tcpip, what
      // `ssh -J` does) and this connection runs over it, end to end, host key checked as usual.
      const via: SshClient =
        opts.via ??
        (await SshClient.connect(opts.jump).catch((error: unknown) => Promise.reject(onTheWayTo(error, where))))
      bastion = via
      try {
        sock = await via.forwardOutTcp(opts.host, port, opts.connectTimeoutMs ?? 10_000)
      } catch (error) {
        if (!opts.via) await via.close()
        throw new SshConnectionError(
          `ssh ${where} via jump host ${via.target}: ${(error as Error).message}`,
          {...details, jumpHost: via.target},
          {cause: error},
        )
      }
    }

    const conn = new ssh2.Client()
    const config: ConnectConfig = {
      host: opts.host,
      port,
      username: opts.username,
      // The key is already parsed and decrypted: offered through authHandler, which takes it as it is;
      // the agent's keys after it (as ssh does with an IdentityFile and an agent).
      authHandler: [
        ...[privateKey, ...extraKeys]
          .filter((k) => k !== undefined)
          .map((key) => ({type: 'publickey', username: opts.username, key}) satisfies PublicKeyAuthMethod),
        ...(opts.agent ? [{type: 'agent', username: opts.username, agent: opts.agent} satisfies AgentAuthMethod] : []),
      ] as unknown as AuthMethod[],
      ...(sock ? {sock} : {}),
      readyTimeout: opts.connectTimeoutMs ?? 10_000,
      keepaliveInterval: opts.keepaliveIntervalMs ?? 15_000,
      keepaliveCountMax: 3,
      hostVerifier,
      // Offer only the host-key types we know for this host, so the server cannot pick another one.
      ...(serverHostKey.length > 0 ? {algorithms: {serverHostKey: serverHostKey as never}} : {}),
    }

    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error & {level?: string; code?: string}) => {
        cleanup()
        conn.end()
        if (refusal) return reject(refusal)
        const plain = connectError(err, where, opts.connectTimeoutMs ?? 10_000, details)
        // A failed proxy command is the better explanation than the transport error it caused.
        if (proxy)
          return void proxy.failure().then((why) => reject(why ? proxyFailure(why, where, details, err) : plain))
        reject(plain)
      }
      const onReady = () => {
        cleanup()
        resolve()
      }
      const onClose = () => {
        cleanup()
        if (refusal) return reject(refusal)
        if (proxy)
          return void proxy.failure().then((why) => reject(proxyFailure(why ?? 'closed its output', where, details)))
        reject(new SshConnectionError(`ssh ${where}: connection closed during the handshake`, details))
      }
      const cleanup = () => {
        conn.off('error', onError)
        conn.off('ready', onReady)
        conn.off('close', onClose)
      }
      conn.on('error', onError)
      conn.on('ready', onReady)
      conn.on('close', onClose)
      try {
        conn.connect(config)
        // Small request/response packets: without this, delayed ACKs add ~40 ms per command.
        conn.setNoDelay(true)
      } catch (error) {
        // ssh2 throws synchronously for a key it cannot parse.
        cleanup()
        reject(new UsageError(`ssh ${where}: ${(error as Error).message}`, {...details, file: opts.identityFile}))
      }
    }).catch(async (error: unknown) => {
      // ssh2 may still report the lost transport after the handshake failed: nobody waits for that.
      conn.on('error', () => undefined)
      proxy?.stop()
      if (bastion && !opts.via) await bastion.close()
      throw error
    })
    if (acceptNew) await appendKnownHost(opts.knownHostsFile, keyHost, keyPort, acceptNew)
    const client = new SshClient(conn, opts, presented ?? {type: 'unknown', fingerprint: ''})
    // A private bastion connection (or proxy command) lives as long as the connection through it.
    if (bastion && !opts.via) conn.on('close', () => void bastion.close())
    if (proxy) conn.on('close', () => proxy.stop())
    return client
  }

  /** Runs COMMAND through the login shell. A non-zero exit is a result; only transport failures and timeouts throw. */
  async exec(command: string, opts: SshExecOptions = {}): Promise<SshExecResult> {
    // The server refuses channels beyond its MaxSessions: queue instead of failing.
    // An open SFTP session holds a channel too.
    while (this.openChannels + (this.sftpSession && this.maxChannels > 1 ? 1 : 0) >= this.maxChannels)
      await new Promise<void>((resolve) => this.waiting.push(resolve))
    this.openChannels++
    try {
      return await this.execOnChannel(command, opts)
    } finally {
      this.openChannels--
      this.waiting.shift()?.()
    }
  }

  private execOnChannel(command: string, opts: SshExecOptions): Promise<SshExecResult> {
    const details = {host: this.host, port: this.port, user: this.username, command}
    if (this.isClosed)
      return Promise.reject(new SshConnectionError(`ssh ${this.target}: connection is closed`, details))
    return new Promise<SshExecResult>((resolve, reject) => {
      let settled = false
      let channel: ClientChannel | undefined
      const finish = (fn: () => void) => {
        if (settled) return
        settled = true
        if (timer) clearTimeout(timer)
        fn()
      }
      const timer =
        opts.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              finish(() =>
                reject(
                  new SshCommandTimeoutError(
                    `ssh ${this.target}: command timed out after ${opts.timeoutMs} ms: ${command}`,
                    details,
                  ),
                ),
              )
              if (!channel) return
              killRemote(channel)
              channel.close()
            }, opts.timeoutMs)
      let attempt = 0
      const start = () => this.conn.exec(command, onChannel)
      const onChannel = (err: Error | undefined, ch: ClientChannel) => {
        if (err) {
          // sshd frees a session slot a moment after the client sees the channel close; a channel
          // opened right then is refused (resource shortage). Try again shortly.
          if (/Channel open failure/.test(err.message) && attempt < 40 && !settled && !this.isClosed) {
            attempt++
            setTimeout(start, Math.min(5 * attempt, 50))
            return
          }
          finish(() =>
            reject(
              new SshConnectionError(`ssh ${this.target}: cannot start command: ${err.message}`, details, {cause: err}),
            ),
          )
          return
        }
        channel = ch
        if (settled) {
          ch.close()
          return
        }
        // Listeners go on synchronously: a fast command's output, exit status and close can arrive
        // in the same packet batch as the exec confirmation.
        const out: Buffer[] = []
        const errOut: Buffer[] = []
        ch.on('data', (d: Buffer) => out.push(d))
        ch.stderr.on('data', (d: Buffer) => errOut.push(d))
        ch.on('close', (code?: number | null, sig?: string) => {
          finish(() => {
            if (code === undefined && sig === undefined) {
              const why = this.lastError ? `: ${this.lastError.message}` : ''
              reject(
                new SshConnectionError(
                  `ssh ${this.target}: connection lost before the command finished${why}`,
                  details,
                ),
              )
              return
            }
            resolve({
              stdout: Buffer.concat(out).toString('utf8'),
              stderr: Buffer.concat(errOut).toString('utf8'),
              exitCode: code ?? null,
              signal: code === null && sig ? sig : null,
            })
          })
        })
        if (opts.stdin !== undefined) ch.end(opts.stdin)
        else ch.end()
      }
      start()
    })
  }

  /**
   * Opens a stream to a unix socket on the host (OpenSSH "direct-streamlocal@openssh.com", what
   * `ssh -L local:/remote.sock` uses). The channel is a duplex stream; close it with end()/destroy().
   * Forward channels are not sessions, so they do not count against MaxSessions.
   */
  forwardOutStreamLocal(socketPath: string, opts: {timeoutMs?: number} = {}): Promise<ClientChannel> {
    const details = {host: this.host, port: this.port, user: this.username, file: socketPath}
    if (this.isClosed) return Promise.reject(new OperationError(`ssh ${this.target}: connection is closed`, details))
    return new Promise<ClientChannel>((resolve, reject) => {
      let settled = false
      const timer =
        opts.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              settled = true
              reject(
                new OperationError(
                  `ssh ${this.target}: no answer to a forward to ${socketPath} within ${opts.timeoutMs} ms`,
                  details,
                ),
              )
            }, opts.timeoutMs)
      this.conn.openssh_forwardOutStreamLocal(socketPath, (err, channel) => {
        if (timer) clearTimeout(timer)
        if (settled) {
          channel?.close()
          return
        }
        settled = true
        if (err) {
          // The server says why: typically "open failed" when nothing listens on the socket.
          reject(
            new OperationError(`ssh ${this.target}: cannot forward to ${socketPath}: ${err.message}`, details, {
              cause: err,
            }),
          )
          return
        }
        resolve(channel)
      })
    })
  }

  /**
   * Opens a TCP connection from the host to HOST:PORT ("direct-tcpip", what `ssh -W` and ProxyJump
   * use); the channel is a duplex stream. Refused when the server forbids TCP forwarding.
   */
  forwardOutTcp(host: string, port: number, timeoutMs = 10_000): Promise<ClientChannel> {
    if (this.isClosed)
      return Promise.reject(
        new SshConnectionError(`ssh ${this.target}: connection is closed`, {host: this.host, port: this.port}),
      )
    return new Promise<ClientChannel>((resolve, reject) => {
      let settled = false
      const timer = setTimeout(() => {
        settled = true
        reject(
          new SshConnectionError(
            `no connection to ${knownHostName(host, port)} from ${this.target} within ${timeoutMs} ms`,
            {host, port},
          ),
        )
      }, timeoutMs)
      this.conn.forwardOut('127.0.0.1', 0, host, port, (err, channel) => {
        clearTimeout(timer)
        if (settled) {
          channel?.close()
          return
        }
        settled = true
        if (err) {
          // e.g. "(SSH) Channel open failure: Connection refused" or "administratively prohibited".
          reject(
            new SshConnectionError(
              `cannot open a connection to ${knownHostName(host, port)} from ${this.target}: ${err.message}`,
              {host, port},
              {cause: err},
            ),
          )
          return
        }
        resolve(channel)
      })
    })
  }

  /** Runs a program with arguments, each shell-quoted for the remote shell. */
  execArgv(argv: readonly string[], opts: SshExecOptions = {}): Promise<SshExecResult> {
    return this.exec(argv.map(shellQuote).join(' '), opts)
  }

  /**
   * Copies a local file to the host over SFTP: written to a temp name beside the target, then
   * renamed over it, so readers never see a partial file. (Minimal; richer SFTP comes later.)
   */
  async upload(localPath: string, remotePath: string, opts: {mode?: number} = {}): Promise<void> {
    const details = {host: this.host, port: this.port, user: this.username, file: remotePath}
    const sftp = await this.sftp()
    const tmp = `${remotePath}.tmp-${randomBytes(4).toString('hex')}`
    const call = (what: string, fn: (cb: (err?: Error | null) => void) => void) =>
      new Promise<void>((resolve, reject) =>
        fn((err) =>
          err
            ? reject(new OperationError(`ssh ${this.target}: ${what}: ${err.message}`, details, {cause: err}))
            : resolve(),
        ),
      )
    try {
      await call(`upload ${localPath} to ${tmp}`, (cb) =>
        sftp.fastPut(localPath, tmp, opts.mode === undefined ? {} : {mode: opts.mode}, cb),
      )
      await call(`rename ${tmp} to ${remotePath}`, (cb) => sftp.ext_openssh_rename(tmp, remotePath, cb))
    } catch (error) {
      await new Promise<void>((resolve) => sftp.unlink(tmp, () => resolve()))
      throw error
    }
  }

  /** One SFTP session per connection, opened on first use. */
  sftp(): Promise<SFTPWrapper> {
    this.sftpSession ??= new Promise<SFTPWrapper>((resolve, reject) => {
      this.conn.sftp((err, sftp) => {
        if (err) {
          this.sftpSession = undefined
          reject(
            new OperationError(
              `ssh ${this.target}: cannot open SFTP: ${err.message}`,
              {host: this.host, port: this.port, user: this.username},
              {cause: err},
            ),
          )
          return
        }
        sftp.on('close', () => (this.sftpSession = undefined))
        resolve(sftp)
      })
    })
    return this.sftpSession
  }

  async close(): Promise<void> {
    if (this.isClosed) return
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.conn.destroy()
        resolve()
      }, 2000)
      this.conn.once('close', () => {
        clearTimeout(t)
        resolve()
      })
      this.conn.end()
    })
    this.isClosed = true
  }
}

/**
 * Sends the "signal" channel request (OpenSSH >= 7.9 delivers it to the command's process group).
 * ssh2's Channel.signal() sends nothing once stdin was closed, which exec() always does, so this goes
 * to the protocol directly.
 */
function killRemote(channel: ClientChannel): void {
  const ch = channel as unknown as {
    type?: string
    outgoing?: {id: number; state: string}
    _client?: {_protocol?: {signal(id: number, sig: string): void}}
  }
  try {
    if (ch.type === 'session' && (ch.outgoing?.state === 'open' || ch.outgoing?.state === 'eof'))
      ch._client?._protocol?.signal(ch.outgoing.id, 'KILL')
  } catch {
    // A server that refuses signals still ends the session when the channel closes.
  }
}

async function readIdentity(path: string): Promise<Buffer> {
  try {
    return await readFile(path)
  } catch (error) {
    throw new UsageError(`cannot read SSH identity file ${path}: ${(error as Error).message}`, {file: path})
  }
}

interface ProxyProcess {
  sock: Duplex
  /** Why the command failed ("exited with status 1: <stderr>"), once it has exited; undefined while it runs or when it exited 0. */
  failure(): Promise<string | undefined>
  stop(): void
}

/**
 * Runs an OpenSSH-style ProxyCommand: the SSH connection is carried on the command's stdin and
 * stdout; its stderr is kept (the last 2 KiB) to say why when it fails.
 */
function startProxyCommand(command: string): ProxyProcess {
  const child = spawn('/bin/sh', ['-c', `exec ${command}`], {stdio: ['pipe', 'pipe', 'pipe']})
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString('utf8')).slice(-2048)
  })
  const exited = new Promise<string | undefined>((resolve) => {
    child.once('error', (err) => resolve(`could not be started: ${err.message}`))
    child.once('close', (code, signal) => {
      const why = stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' / ')}` : ''
      resolve(code === 0 ? undefined : `exited with ${signal ? `signal ${signal}` : `status ${code}`}${why}`)
    })
  })
  // The connection's socket: the command's stdout in, its stdin out. Writes after the command is
  // gone are dropped (EPIPE); the connection sees its stdout end and reports the loss.
  child.stdin.on('error', () => undefined)
  const sock = new Duplex({
    read: () => void child.stdout.resume(),
    write: (chunk: Buffer, _enc, cb) => void child.stdin.write(chunk, () => cb()),
    final: (cb) => {
      child.stdin.end()
      cb()
    },
  })
  child.stdout.on('data', (d: Buffer) => {
    if (!sock.push(d)) child.stdout.pause()
  })
  child.stdout.once('end', () => sock.push(null))
  return {
    sock,
    // The command may still be flushing its exit: give it a moment to say why before reporting.
    failure: () =>
      Promise.race([
        exited,
        new Promise<undefined>((resolve) => (setTimeout(resolve, 500) as unknown as NodeJS.Timeout).unref()),
      ]),
    stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    },
  }
}

function proxyFailure(why: string, where: string, details: Record<string, unknown>, cause?: Error): SshConnectionError {
  return new SshConnectionError(`ssh ${where}: ProxyCommand ${why}`, {...details, cause: 'proxy-command'}, {cause})
}

/** A jump host's failure, saying which host it was the way to (the error keeps its class and exit code). */
export function onTheWayTo(error: unknown, where: string): unknown {
  if (error instanceof Error && !error.message.includes('(jump host on the way to')) {
    error.message += ` (jump host on the way to ${where})`
    const details = (error as {details?: Record<string, unknown>}).details
    if (details) details.target = where
  }
  return error
}

/** Passphrases typed at the prompt, per identity file, so a run over many hosts asks once. */
const typedPassphrases = new Map<string, Promise<string>>()
/** Decrypted identity files (bcrypt-pbkdf costs ~0.2 s a time), per file and passphrase. */
const decryptedKeys = new Map<string, ParsedKey>()

/**
 * The private key to offer, decrypted (so ssh2 does not decrypt it again): an encrypted key with no
 * passphrase is left to the agent when there is one, else the passphrase is asked for (TTY) or the
 * connection is refused with a clear message.
 */
async function usableKey(
  opts: SshConnectOptions,
  where: string,
  details: Record<string, unknown>,
): Promise<ParsedKey | undefined> {
  const key = opts.privateKey ?? (opts.identityFile ? await readIdentity(opts.identityFile) : undefined)
  if (!key) return undefined
  const file = opts.identityFile ?? 'the private key'
  const parse = (passphrase?: string): ParsedKey | Error => {
    const cacheKey = opts.identityFile && passphrase ? `${opts.identityFile}\0${passphrase}` : undefined
    const cached = cacheKey ? decryptedKeys.get(cacheKey) : undefined
    if (cached) return cached
    const parsed = ssh2.utils.parseKey(key, passphrase)
    if (cacheKey && !(parsed instanceof Error)) decryptedKeys.set(cacheKey, parsed)
    return parsed
  }
  const parsed = parse(opts.passphrase)
  if (!(parsed instanceof Error)) return parsed
  const encrypted = /no passphrase given/i.test(parsed.message)
  if (encrypted && opts.agent) return undefined
  if (encrypted && opts.askPassphrase) {
    let typed = typedPassphrases.get(file)
    if (!typed) {
      typed = opts.askPassphrase(file)
      typedPassphrases.set(file, typed)
    }
    const unlocked = parse(await typed)
    if (unlocked instanceof Error) {
      typedPassphrases.delete(file)
      throw new UsageError(`ssh ${where}: wrong passphrase for ${file}`, {...details, file})
    }
    return unlocked
  }
  if (encrypted) {
    throw new UsageError(
      `ssh ${where}: identity file ${file} is encrypted and no passphrase was given: set PLASMACTL_SSH_PASSPHRASE, add the key to ssh-agent, or run on a terminal to be asked`,
      {...details, file},
    )
  }
  if (opts.passphrase && /bad passphrase|decrypt/i.test(parsed.message))
    throw new UsageError(`ssh ${where}: wrong passphrase for ${file}`, {...details, file})
  throw new UsageError(`ssh ${where}: cannot use identity file ${file}: ${parsed.message}`, {...details, file})
}

function hostKeyRefusal(
  verdict: ReturnType<typeof checkHostKey>,
  opts: SshConnectOptions,
  port: number,
  presented: HostKeyInfo,
  details: Record<string, unknown>,
): Error {
  const name = knownHostName(opts.host, port)
  const file = opts.knownHostsFile
  if (verdict.status === 'changed') {
    const old = verdict.expected[0]
    return new HostKeyRefusedError(
      `host key for ${name} has CHANGED: known_hosts has ${old.keyType} ${fingerprintSha256(old.key)} (${old.file}:${old.line}), ` +
        `the server presented ${presented.type} ${presented.fingerprint}; refusing to connect (possible man-in-the-middle)`,
      {
        ...details,
        file: old.file,
        line: old.line,
        expectedFingerprint: fingerprintSha256(old.key),
        presentedFingerprint: presented.fingerprint,
        hint: `if the host was really re-keyed, remove the old entry: ssh-keygen -R '${name}' -f ${file}`,
      },
    )
  }
  if (verdict.status === 'revoked') {
    return new HostKeyRefusedError(
      `host key ${presented.fingerprint} of ${name} is marked @revoked in ${verdict.entry.file}:${verdict.entry.line}`,
      {
        ...details,
        presentedFingerprint: presented.fingerprint,
      },
    )
  }
  if (verdict.status === 'unknown' && verdict.certAuthority) {
    const ca = verdict.certAuthority
    return new HostKeyRefusedError(
      `host key of ${name}: ${ca.file}:${ca.line} trusts a certificate authority (@cert-authority) for it, but plasmactl does not check host certificates; refusing to connect`,
      {
        ...details,
        file: ca.file,
        line: ca.line,
        presentedFingerprint: presented.fingerprint,
        hint: `add the host's own key to ${file} (ssh-keyscan -p ${port} ${opts.host}), after checking its fingerprint`,
      },
    )
  }
  return new HostKeyRefusedError(
    `host key of ${name} is not in ${file} (server presented ${presented.type} ${presented.fingerprint})`,
    {
      ...details,
      presentedFingerprint: presented.fingerprint,
      hint: `verify the fingerprint and add it (ssh-keyscan -p ${port} ${opts.host} >> ${file}), or allow trust on first use (accept-new)`,
    },
  )
}

function connectError(
  err: Error & {level?: string; code?: string},
  where: string,
  timeoutMs: number,
  details: Record<string, unknown>,
): OperationError {
  if (err.level === 'client-authentication')
    return new OperationError(
      `ssh ${where}: authentication failed (key not accepted for this user)`,
      {...details, cause: err.level},
      {cause: err},
    )
  let why = err.message
  if (err.level === 'client-timeout' || /Timed out while waiting for handshake/.test(err.message)) {
    return new SshHandshakeTimeoutError(
      `ssh ${where}: no SSH handshake within ${timeoutMs} ms (hung or overloaded host?)`,
      {...details, cause: 'timeout'},
      {cause: err},
    )
  }
  if (err.level === 'client-authentication') why = 'authentication failed (key not accepted for this user)'
  else if (err.code === 'ECONNREFUSED') why = 'connection refused (is sshd running on that address and port?)'
  return new SshConnectionError(`ssh ${where}: ${why}`, {...details, cause: err.code ?? err.level}, {cause: err})
}
