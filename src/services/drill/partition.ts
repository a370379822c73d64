import {run} from '../../adapters/exec/index.js'
import {activeNodes, nodeClientUrl, nodePeerUrl, nodeSsh} from '../../config/context.js'
import type {Context, NodeSpec} from '../../config/schema.js'
import {OperationError} from '../../errors.js'
import {shellQuote} from '../../shell-quote.js'
import {CGROUP2_ROOT, isRoot, labNodeCgroup} from '../lab/layout.js'
import type {Remote} from '../remote.js'

/** Which traffic of a member a partition cuts: raft between members, or clients to the member. */
export type PartitionKind = 'peer' | 'client'

/**
 * The cgroup v2 group the member runs in, relative to the v2 root (as `iptables -m cgroup --path`
 * wants it): in a lab, the node's sshd group (lab up puts it there); on a real node, the systemd unit.
 */
export function memberCgroup(ctx: Context, node: NodeSpec): string {
  if (ctx.lab) return labNodeCgroup(node.address)
  const unit = {...ctx.services?.chainfire, ...node.services?.chainfire}.unit ?? 'chainfire'
  return `system.slice/${unit.endsWith('.service') ? unit : `${unit}.service`}`
}

function hostPort(url: string, defaultPort: string): {host: string; port: string} {
  const u = new URL(url)
  return {host: u.hostname.replace(/^\[|\]$/g, ''), port: u.port || defaultPort}
}

/**
 * The OUTPUT rules (without `-A OUTPUT`) of a partition, each tagged with the run's comment so that
 * `iptables -S` shows which drill made it. Peer: the member's own dials to every other member's peer
 * port (matched by its cgroup: lab members all dial from 127.0.0.1) and every dial to its peer port.
 * Client: every dial to its client port.
 */
export function partitionRules(ctx: Context, node: NodeSpec, kind: PartitionKind, tag: string): string[] {
  const tail = `-m comment --comment ${shellQuote(tag)} -j DROP`
  const to = (a: {host: string; port: string}) => `-p tcp -d ${a.host} --dport ${a.port}`
  if (kind === 'client') return [`${to(hostPort(nodeClientUrl(ctx, node), '2379'))} ${tail}`]
  const group = memberCgroup(ctx, node)
  const others = activeNodes(ctx).filter((n) => n.name !== node.name && n.roles.includes('chainfire'))
  return [
    ...others.map((n) => `-m cgroup --path ${shellQuote(group)} ${to(hostPort(nodePeerUrl(ctx, n), '2380'))} ${tail}`),
    `${to(hostPort(nodePeerUrl(ctx, node), '2380'))} ${tail}`,
  ]
}

/** Shell that adds the rules; shell that removes them (idempotent: a rule already gone is fine). */
export function partitionScripts(rules: string[]): {apply: string; undo: string} {
  return {
    apply: rules.map((r) => `iptables -w -A OUTPUT ${r}`).join(' && '),
    undo: `${rules.map((r) => `iptables -w -D OUTPUT ${r} 2>/dev/null`).join('; ')}; true`,
  }
}

/**
 * Runs shell as root on the node. A lab node is this machine and plasmactl runs as root there (the
 * lab user has no sudo): the command runs locally. A real node: `sudo -n sh -c` over SSH (or plain
 * when the SSH user is root).
 */
export class RootShell {
  constructor(
    private readonly remote: Remote,
    private readonly ctx: Context,
  ) {}

  get local(): boolean {
    return Boolean(this.ctx.lab)
  }

  async exec(node: NodeSpec, script: string, timeoutMs = 30_000): Promise<{exitCode: number; output: string}> {
    if (this.local) {
      const r = await run('sh', ['-c', script], {timeoutMs})
      return {exitCode: r.exitCode ?? 1, output: (r.stderr || r.stdout).trim()}
    }
    const cmd =
      nodeSsh(this.ctx, node).user === 'root' ? `sh -c ${shellQuote(script)}` : `sudo -n sh -c ${shellQuote(script)}`
    const r = await this.remote.exec(node, cmd, {timeoutMs})
    return {exitCode: r.exitCode ?? 1, output: (r.stderr || r.stdout).trim()}
  }

  async execChecked(node: NodeSpec, script: string, timeoutMs = 30_000): Promise<void> {
    const r = await this.exec(node, script, timeoutMs)
    if (r.exitCode !== 0)
      throw new OperationError(`${node.name}: ${r.output.split('\n')[0] || `exit ${r.exitCode}`}`, {
        host: node.address,
        hint: 'a partition needs root on the node (lab: plasmactl as root; real nodes: passwordless sudo for iptables)',
      })
  }

  /** Why a partition of the member cannot be made here, or undefined when it can. */
  async unavailable(node: NodeSpec): Promise<string | undefined> {
    if (this.local && !isRoot()) return 'partition faults in a lab need plasmactl to run as root'
    const group = `${CGROUP2_ROOT}/${memberCgroup(this.ctx, node)}`
    const probe = [
      `command -v iptables >/dev/null || { echo 'iptables not found'; exit 1; }`,
      `grep -q . ${shellQuote(`${group}/cgroup.procs`)} 2>/dev/null || { echo ${shellQuote(`no cgroup v2 group ${group} holding the member`)}; exit 1; }`,
    ].join('; ')
    const r = await this.exec(node, probe, 15_000)
    return r.exitCode === 0 ? undefined : r.output.split('\n')[0] || `probe exit ${r.exitCode}`
  }
}
