import {nodeClientUrl, serviceCommand} from '../../config/context.js'
import type {Context, NodeSpec} from '../../config/schema.js'
import {OperationError} from '../../errors.js'
import {shellQuote} from '../../shell-quote.js'
import type {Remote} from '../remote.js'

/** What a fault did on a node, and how to take it back. */
export interface AppliedFault {
  kind: 'kill' | 'stop'
  node: string
  /** Shell command that reverts the fault on the node. */
  undo: string
  /** The marker file that cancels the node's dead-man timer. */
  cancelMarker: string
  /** The member's pid at injection time (SIGSTOP faults). */
  pid?: number
}

/**
 * The dead-man timer: a detached `sleep N` on the node that runs UNDO unless the marker file says the
 * drill reverted the fault itself. It needs no systemd and outlives plasmactl and the SSH session.
 */
export function deadManCommand(undo: string, seconds: number, marker: string): string {
  const script = `sleep ${Math.max(1, Math.ceil(seconds))}; if [ -e ${shellQuote(marker)} ]; then rm -f ${shellQuote(marker)}; else ${undo}; fi`
  return `setsid nohup sh -c ${shellQuote(script)} >/dev/null 2>&1 </dev/null &`
}

/** The pid listening on HOST:PORT in `ss -Hltnp` output (a line of another address is a different member). */
export function pidFromSs(text: string, host: string, port: string): number | undefined {
  const lines = text.split('\n').filter((l) => l.includes(`:${port}`))
  const line = lines.find((l) => l.includes(`${host}:${port}`)) ?? (lines.length === 1 ? lines[0] : undefined)
  const m = line ? /pid=(\d+)/.exec(line) : null
  return m ? Number(m[1]) : undefined
}

export class FaultInjector {
  constructor(
    private readonly remote: Remote,
    private readonly ctx: Context,
    private readonly runId: string,
  ) {}

  private marker(node: NodeSpec): string {
    return `/tmp/plasmactl-drill-${this.runId}-${node.name}.reverted`
  }

  private async arm(node: NodeSpec, undo: string, seconds: number): Promise<string> {
    const marker = this.marker(node)
    await this.remote.execChecked(node, `rm -f ${shellQuote(marker)}; ${deadManCommand(undo, seconds, marker)}`, {
      timeoutMs: 15_000,
    })
    return marker
  }

  /** kill -9 of the member (the service's own kill verb); the dead-man starts it again. */
  async kill(node: NodeSpec, deadManSeconds: number): Promise<AppliedFault> {
    const undo = serviceCommand(this.ctx, node, 'chainfire', 'start')
    const cancelMarker = await this.arm(node, undo, deadManSeconds)
    await this.remote.execChecked(node, serviceCommand(this.ctx, node, 'chainfire', 'kill'), {timeoutMs: 30_000})
    return {kind: 'kill', node: node.name, undo, cancelMarker}
  }

  /** SIGSTOP of the member process (a hung member: alive, silent); the dead-man sends SIGCONT. */
  async stop(node: NodeSpec, deadManSeconds: number): Promise<AppliedFault> {
    // The process listening on the member's client address: the same on systemd hosts and in the lab.
    const url = new URL(nodeClientUrl(this.ctx, node))
    const port = url.port || '2379'
    const ss = await this.remote.exec(node, `ss -Hltnp ${shellQuote(`sport = :${port}`)}`, {timeoutMs: 30_000})
    const pid = pidFromSs(ss.stdout, url.hostname, port)
    if (!pid)
      throw new OperationError(`${node.name}: no process found listening on ${url.host} (ss -ltnp)`, {
        host: node.address,
        hint: 'is the member running, and may the SSH user see its process?',
      })
    const undo = `kill -CONT ${pid}`
    const cancelMarker = await this.arm(node, undo, deadManSeconds)
    await this.remote.execChecked(node, `kill -STOP ${pid}`, {timeoutMs: 15_000})
    return {kind: 'stop', node: node.name, undo, cancelMarker, pid}
  }

  /** Takes the fault back now (idempotent) and disarms the dead-man timer. */
  async revert(f: AppliedFault, node: NodeSpec): Promise<void> {
    await this.remote.execChecked(node, `touch ${shellQuote(f.cancelMarker)}; ${f.undo}`, {timeoutMs: 60_000})
  }

  /** Disarms the dead-man timer only (the recovery brought the member back another way). */
  async disarm(f: AppliedFault, node: NodeSpec): Promise<void> {
    await this.remote.exec(node, `touch ${shellQuote(f.cancelMarker)}`, {timeoutMs: 15_000})
  }
}
