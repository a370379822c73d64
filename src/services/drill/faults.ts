import {nodeClientUrl, serviceCommand} from '../../config/context.js'
import type {Context, NodeSpec} from '../../config/schema.js'
import {OperationError} from '../../errors.js'
import {shellQuote} from '../../shell-quote.js'
import type {Remote} from '../remote.js'
import {type PartitionKind, partitionRules, partitionScripts, RootShell} from './partition.js'

/** What a fault did on a node, and how to take it back. */
export interface AppliedFault {
  kind: 'kill' | 'stop' | 'partition' | 'guard' | 'component'
  node: string
  /** Shell command that reverts the fault on the node. */
  undo: string
  /** The marker file that cancels the node's dead-man timer. */
  cancelMarker: string
  /** The member's pid at injection time (SIGSTOP faults). */
  pid?: number
  /** The fault, its undo and its dead-man timer run as root (partition: iptables). */
  root?: boolean
  /** The iptables rules the fault added (partition faults), as `iptables -S` prints them after -A OUTPUT. */
  rules?: string[]
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
  readonly root: RootShell

  constructor(
    private readonly remote: Remote,
    private readonly ctx: Context,
    private readonly runId: string,
  ) {
    this.root = new RootShell(remote, ctx)
  }

  private marker(node: NodeSpec): string {
    return `/tmp/plasmactl-drill-${this.runId}-${node.name}.reverted`
  }

  private async arm(node: NodeSpec, undo: string, seconds: number, root = false): Promise<string> {
    const marker = this.marker(node)
    const cmd = `rm -f ${shellQuote(marker)}; ${deadManCommand(undo, seconds, marker)}`
    if (root) await this.root.execChecked(node, cmd, 15_000)
    else await this.remote.execChecked(node, cmd, {timeoutMs: 15_000})
    return marker
  }

  /**
   * Partition of the member's peer or client traffic with iptables DROP rules in OUTPUT (as root: see
   * RootShell); the dead-man timer deletes them. Rules carry the comment plasmactl-drill:RUN_ID.
   */
  async partition(node: NodeSpec, kind: PartitionKind, deadManSeconds: number): Promise<AppliedFault> {
    const rules = partitionRules(this.ctx, node, kind, `plasmactl-drill:${this.runId}`)
    const {apply, undo} = partitionScripts(rules)
    const cancelMarker = await this.arm(node, undo, deadManSeconds, true)
    const f: AppliedFault = {kind: 'partition', node: node.name, undo, cancelMarker, root: true, rules}
    try {
      await this.root.execChecked(node, apply)
    } catch (error) {
      // Nothing half-applied: take back whatever rules went in.
      await this.revert(f, node).catch(() => undefined)
      throw error
    }
    return f
  }

  /**
   * A dead-man timer that starts the member (idempotent: a running member is left alone) unless
   * disarmed: what a rolling restart leaves behind if plasmactl dies between a member's stop and start.
   */
  async guard(node: NodeSpec, deadManSeconds: number): Promise<AppliedFault> {
    const undo = serviceCommand(this.ctx, node, 'chainfire', 'start')
    const cancelMarker = await this.arm(node, undo, deadManSeconds)
    return {kind: 'guard', node: node.name, undo, cancelMarker}
  }

  /** kill -9 of the member (the service's own kill verb); the dead-man starts it again. */
  async kill(node: NodeSpec, deadManSeconds: number): Promise<AppliedFault> {
    const guard = await this.guard(node, deadManSeconds)
    await this.remote.execChecked(node, serviceCommand(this.ctx, node, 'chainfire', 'kill'), {timeoutMs: 30_000})
    return {...guard, kind: 'kill'}
  }

  /** A component fault: COMMAND on the node, UNDO armed first as its dead-man timer. */
  async component(node: NodeSpec, command: string, undo: string, deadManSeconds: number): Promise<AppliedFault> {
    const cancelMarker = await this.arm(node, undo, deadManSeconds)
    await this.remote.execChecked(node, command, {timeoutMs: 30_000})
    return {kind: 'component', node: node.name, undo, cancelMarker}
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
    const cmd = `touch ${shellQuote(f.cancelMarker)}; ${f.undo}`
    if (f.root) await this.root.execChecked(node, cmd, 60_000)
    else await this.remote.execChecked(node, cmd, {timeoutMs: 60_000})
  }

  /** Disarms the dead-man timer only (the recovery brought the member back another way). */
  async disarm(f: AppliedFault, node: NodeSpec): Promise<void> {
    const cmd = `touch ${shellQuote(f.cancelMarker)}`
    if (f.root) await this.root.exec(node, cmd, 15_000)
    else await this.remote.exec(node, cmd, {timeoutMs: 15_000})
  }
}
