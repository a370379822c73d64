import {readFile} from 'node:fs/promises'
import {Client, type ClientChannel, type ConnectConfig} from 'ssh2'
import {OperationError, RefusedError, UsageError} from '../../errors.js'
import {appendKnownHost, checkHostKey, fingerprintSha256, keyTypeOf, knownHostName, knownKeyTypes, loadKnownHosts} from './known-hosts.js'

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
  knownHostsFile: string
  hostKeyPolicy?: HostKeyPolicy
  /** TCP connect + handshake + authentication (default 10 s). */
  connectTimeoutMs?: number
  /** SSH-level keepalive interval (default 15 s; 0 disables). */
  keepaliveIntervalMs?: number
}

export interface SshExecOptions {
  /** Kill the command (signal KILL, close the channel) and throw after this long. */
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

/** A host key that is unknown (under the strict policy), changed or revoked. */
export class HostKeyRefusedError extends RefusedError {}

const HOST_KEY_ALGORITHMS: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`
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
  private readonly conn: Client
  private isClosed = false
  private lastError: Error | undefined

  private constructor(conn: Client, opts: SshConnectOptions, hostKey: HostKeyInfo) {
    this.conn = conn
    this.host = opts.host
    this.port = opts.port ?? 22
    this.username = opts.username
    this.hostKey = hostKey
    conn.on('error', (err) => {
      this.lastError = err
    })
    conn.on('close', () => {
      this.isClosed = true
    })
  }

  /** "user@host:port", as used in messages and as the pool key. */
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
    const privateKey = opts.privateKey ?? (opts.identityFile ? await readIdentity(opts.identityFile) : undefined)
    if (!privateKey) throw new UsageError(`no identity for ${where}: pass an identity file`, details)

    const known = await loadKnownHosts(opts.knownHostsFile)
    const types = knownKeyTypes(known.entries, opts.host, port)
    const serverHostKey = types.flatMap((t) => HOST_KEY_ALGORITHMS[t] ?? [])

    let refusal: Error | undefined
    let presented: HostKeyInfo | undefined
    let acceptNew: Buffer | undefined
    const hostVerifier = (key: Buffer): boolean => {
      presented = {type: keyTypeOf(key) ?? 'unknown', fingerprint: fingerprintSha256(key)}
      const verdict = checkHostKey(known.entries, opts.host, port, key)
      if (verdict.status === 'match') return true
      if (verdict.status === 'unknown' && opts.hostKeyPolicy === 'accept-new') {
        acceptNew = key
        return true
      }
      refusal = hostKeyRefusal(verdict, opts, port, presented, details)
      return false
    }

    const conn = new Client()
    const config: ConnectConfig = {
      host: opts.host,
      port,
      username: opts.username,
      privateKey,
      passphrase: opts.passphrase,
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
        reject(connectError(err, where, opts.connectTimeoutMs ?? 10_000, details))
      }
      const onReady = () => {
        cleanup()
        resolve()
      }
      const onClose = () => {
        cleanup()
        reject(refusal ?? new OperationError(`ssh ${where}: connection closed during the handshake`, details))
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
      } catch (error) {
        // ssh2 throws synchronously for a key it cannot parse.
        cleanup()
        reject(new UsageError(`ssh ${where}: ${(error as Error).message}`, {...details, file: opts.identityFile}))
      }
    })
    if (acceptNew) await appendKnownHost(opts.knownHostsFile, opts.host, port, acceptNew)
    return new SshClient(conn, opts, presented ?? {type: 'unknown', fingerprint: ''})
  }

  /** Runs COMMAND through the login shell. A non-zero exit is a result; only transport failures and timeouts throw. */
  async exec(command: string, opts: SshExecOptions = {}): Promise<SshExecResult> {
    const details = {host: this.host, port: this.port, user: this.username, command}
    if (this.isClosed) throw new OperationError(`ssh ${this.target}: connection is closed`, details)
    const channel = await new Promise<ClientChannel>((resolve, reject) => {
      this.conn.exec(command, (err, ch) => {
        if (err) reject(new OperationError(`ssh ${this.target}: cannot start command: ${err.message}`, details, {cause: err}))
        else resolve(ch)
      })
    })
    return new Promise<SshExecResult>((resolve, reject) => {
      const out: Buffer[] = []
      const errOut: Buffer[] = []
      let exitCode: number | null = null
      let signal: string | null = null
      let exited = false
      let timedOut = false
      const timer =
        opts.timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              timedOut = true
              try {
                channel.signal('KILL')
              } catch {
                // Older servers refuse signals; closing the channel still ends the session.
              }
              channel.close()
            }, opts.timeoutMs)
      channel.on('data', (d: Buffer) => out.push(d))
      channel.stderr.on('data', (d: Buffer) => errOut.push(d))
      channel.on('exit', (code: number | null, sig?: string) => {
        exited = true
        exitCode = code ?? null
        signal = code === null && sig ? sig : null
      })
      channel.on('close', () => {
        if (timer) clearTimeout(timer)
        if (timedOut) {
          reject(new OperationError(`ssh ${this.target}: command timed out after ${opts.timeoutMs} ms: ${command}`, details))
          return
        }
        if (!exited) {
          const why = this.lastError ? `: ${this.lastError.message}` : ''
          reject(new OperationError(`ssh ${this.target}: connection lost before the command finished${why}`, details))
          return
        }
        resolve({stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(errOut).toString('utf8'), exitCode, signal})
      })
      if (opts.stdin !== undefined) channel.end(opts.stdin)
      else channel.end()
    })
  }

  /** Runs a program with arguments, each shell-quoted for the remote shell. */
  execArgv(argv: readonly string[], opts: SshExecOptions = {}): Promise<SshExecResult> {
    return this.exec(argv.map(shellQuote).join(' '), opts)
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

async function readIdentity(path: string): Promise<Buffer> {
  try {
    return await readFile(path)
  } catch (error) {
    throw new UsageError(`cannot read SSH identity file ${path}: ${(error as Error).message}`, {file: path})
  }
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
    return new HostKeyRefusedError(`host key ${presented.fingerprint} of ${name} is marked @revoked in ${verdict.entry.file}:${verdict.entry.line}`, {
      ...details,
      presentedFingerprint: presented.fingerprint,
    })
  }
  return new HostKeyRefusedError(`host key of ${name} is not in ${file} (server presented ${presented.type} ${presented.fingerprint})`, {
    ...details,
    presentedFingerprint: presented.fingerprint,
    hint: `verify the fingerprint and add it (ssh-keyscan -p ${port} ${opts.host} >> ${file}), or allow trust on first use (accept-new)`,
  })
}

function connectError(err: Error & {level?: string; code?: string}, where: string, timeoutMs: number, details: Record<string, unknown>): OperationError {
  let why = err.message
  if (err.level === 'client-timeout' || /Timed out while waiting for handshake/.test(err.message)) why = `no SSH handshake within ${timeoutMs} ms`
  else if (err.level === 'client-authentication') why = 'authentication failed (key not accepted for this user)'
  else if (err.code === 'ECONNREFUSED') why = 'connection refused (is sshd running on that address and port?)'
  return new OperationError(`ssh ${where}: ${why}`, {...details, cause: err.code ?? err.level}, {cause: err})
}
