import {createHash} from 'node:crypto'
import {knownHostName} from './known-hosts.js'
import {withRetry} from '../../core/retry.js'
import {
  isHandshakeDropped,
  onTheWayTo,
  SshClient,
  type SshConnectOptions,
  type SshExecOptions,
  type SshExecResult,
} from './ssh-client.js'

/**
 * Everything that decides which host a connection reaches and how that host is verified: host,
 * port, user, the jump chain or proxy command, the identity, the known_hosts file, the host key alias
 * and the host key policy. Two targets share a connection only when all of these agree, so a node
 * behind a proxy never runs its commands on another host at the same address, and every target's
 * host key is checked against its own known_hosts entry.
 */
export function connectionIdentity(opts: SshConnectOptions): string {
  const key = opts.privateKey === undefined ? null : createHash('sha256').update(opts.privateKey).digest('hex')
  return JSON.stringify([
    opts.username,
    opts.host,
    opts.port ?? 22,
    opts.jump ? connectionIdentity(opts.jump) : null,
    opts.jump ? null : (opts.proxyCommand ?? null),
    opts.identityFile ?? null,
    key,
    opts.agent ?? null,
    opts.knownHostsFile,
    opts.hostKeyAlias ?? null,
    opts.hostKeyPolicy ?? 'strict',
  ])
}

/** SSH handshakes in flight at once per pool (see SshConnections). */
export const MAX_HANDSHAKES = 16

/**
 * Keeps one connection per resolved connection identity (see connectionIdentity) and hands it out
 * again, reconnecting when it was lost. Concurrent callers asking for the same target share one handshake.
 */
export class SshConnections {
  private readonly clients = new Map<string, Promise<SshClient>>()
  private handshakes = 0
  private readonly handshakeQueue: (() => void)[] = []

  /**
   * At most maxHandshakes connections are being set up at once (default 16); each one's connect
   * timeout starts when it gets its turn. On a busy operator box, 50 handshakes started together
   * share the CPU so thinly that healthy hosts overrun the timeout; 16 at a time finish sooner
   * each, and a hung host holds one turn for its timeout.
   */
  constructor(private readonly maxHandshakes = MAX_HANDSHAKES) {}

  private async inTurn<T>(fn: () => Promise<T>): Promise<T> {
    while (this.handshakes >= this.maxHandshakes)
      await new Promise<void>((resolve) => this.handshakeQueue.push(resolve))
    this.handshakes++
    try {
      return await fn()
    } finally {
      this.handshakes--
      this.handshakeQueue.shift()?.()
    }
  }

  async get(opts: SshConnectOptions): Promise<SshClient> {
    const key = connectionIdentity(opts)
    const pending = this.clients.get(key)
    if (pending) {
      const client = await pending.catch(() => undefined)
      if (client && !client.closed) return client
      if (this.clients.get(key) !== pending) return this.get(opts)
    }
    // Nodes behind the same jump host share one connection to it.
    const next =
      opts.jump && !opts.via
        ? this.get(opts.jump).then(
            (via) => this.inTurn(() => connectRetrying({...opts, via})),
            (error: unknown) =>
              Promise.reject(onTheWayTo(error, `${opts.username}@${knownHostName(opts.host, opts.port ?? 22)}`)),
          )
        : this.inTurn(() => connectRetrying(opts))
    this.clients.set(key, next)
    next.catch(() => {
      if (this.clients.get(key) === next) this.clients.delete(key)
    })
    return next
  }

  async exec(opts: SshConnectOptions, command: string, execOpts?: SshExecOptions): Promise<SshExecResult> {
    return (await this.get(opts)).exec(command, execOpts)
  }

  async closeAll(): Promise<void> {
    const all = [...this.clients.values()]
    this.clients.clear()
    await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.close()))
  }
}

/**
 * Connects, retrying a handshake the server dropped before it began (sshd over MaxStartups resets
 * or closes new connections while many are unauthenticated) with jittered backoff. A refused port,
 * a refused host key or a timeout fails at once: a dead or hung host costs its timeout once.
 */
export function connectRetrying(opts: SshConnectOptions): Promise<SshClient> {
  // Up to ~10 s of backoff in all (full jitter: ~5 s on average): a burst through one bastion on a
  // loaded machine outlasts a shorter budget (seen with 8 connections to one host over MaxStartups 2).
  return withRetry(() => SshClient.connect(opts), {
    retries: 6,
    baseMs: 200,
    maxMs: 3200,
    isTransient: isHandshakeDropped,
  })
}
