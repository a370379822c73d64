import {knownHostName} from './known-hosts.js'
import {onTheWayTo, SshClient, type SshConnectOptions, type SshExecOptions, type SshExecResult} from './ssh-client.js'

/**
 * Keeps one connection per user@host:port and hands it out again, reconnecting when it was lost.
 * Concurrent callers asking for the same host share one handshake.
 */
export class SshConnections {
  private readonly clients = new Map<string, Promise<SshClient>>()

  async get(opts: SshConnectOptions): Promise<SshClient> {
    const key = `${opts.username}@${knownHostName(opts.host, opts.port ?? 22)}`
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
            (via) => SshClient.connect({...opts, via}),
            (error: unknown) => Promise.reject(onTheWayTo(error, key)),
          )
        : SshClient.connect(opts)
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
