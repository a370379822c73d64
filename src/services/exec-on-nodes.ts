import {chainfireClientFor} from '../adapters/chainfire/index.js'
import {isSshTimeout, SshConnectionError} from '../adapters/ssh/index.js'
import {type ExitName, RefusedError, UsageError} from '../errors.js'
import type {LoadedConfig} from '../config/load.js'
import type {Context, NodeSpec} from '../config/schema.js'
import {ClusterView, resolveTargets} from '../runbook/cluster.js'
import {cannotCheck, describeCannotCheck} from './health/cannot-check.js'
import {Remote} from './remote.js'
import {mapLimit} from '../core/concurrency.js'

export interface HostResult {
  node: string
  exitCode: number | null
  stdout: string
  stderr: string
  durationMs: number
  /** connection: transport failed (retryable); refused: a safety check (host key); input: local setup (key, config); command: anything else. */
  failure?: 'connection' | 'refused' | 'input' | 'command'
  /** The host did not answer in time (no SSH handshake within the connect timeout, or the command outlived --timeout): a hung host. */
  timedOut?: boolean
  error?: string
}

export interface ExecResult {
  target: string
  command: string
  /** One entry per host, in target order. */
  hosts: HostResult[]
  /** Hosts per outcome: ok (exit 0), failed (ran and failed, or refused), unreachable (transport), timedOut (hung host or command). */
  summary: {ok: number; failed: number; unreachable: number; timedOut: number}
}

export interface ExecOptions {
  loaded: LoadedConfig
  ctx: Context
  target: string
  command: string
  /** A command of its own per node (the support bundle); \`command\` then only describes it. */
  commandFor?: (node: NodeSpec) => string
  timeoutMs: number
  /** Overrides the context's ssh.connect-timeout for this run. */
  connectTimeoutMs?: number
  forks: number
  acceptNewHostKeys?: boolean
  sudo?: boolean
  /** Called with each line of output as it completes per host (labelled by the caller). */
  onHost?: (h: HostResult) => void
}

/** Runs one command on the nodes TARGET selects (names, role:R, all, leader, followers), in parallel, bounded. */
export async function execOnNodes(o: ExecOptions): Promise<ExecResult> {
  const remote = new Remote(o.loaded, o.ctx, {
    ...(o.acceptNewHostKeys ? {hostKeyPolicy: 'accept-new'} : {}),
    ...(o.connectTimeoutMs ? {connectTimeoutMs: o.connectTimeoutMs} : {}),
  })
  const needsCluster = /(^|,)(leader|followers)(,|$)/.test(o.target)
  const client = needsCluster ? chainfireClientFor(o.loaded, o.ctx) : undefined
  try {
    const view = client ? new ClusterView(o.ctx, client) : undefined
    const nodes = await resolveTargets(o.ctx, o.target.split(',').filter(Boolean), () => view!.health())
    // Bounded by --forks: a dead or hung host holds one slot for its timeout, the others go on.
    const hosts = await mapLimit(nodes, o.forks, async (n) => {
      const started = performance.now()
      let h: HostResult
      try {
        const command = o.commandFor?.(n) ?? o.command
        const r = o.sudo
          ? await remote.execSudo(n, command, {timeoutMs: o.timeoutMs})
          : await remote.exec(n, command, {timeoutMs: o.timeoutMs})
        h = {
          node: n.name,
          exitCode: r.exitCode,
          stdout: r.stdout,
          stderr: r.stderr,
          durationMs: Math.round(performance.now() - started),
        }
      } catch (error) {
        const failure = failureKind(error)
        // Our own key, known_hosts or config: name the file and the config line that sets it.
        const local = failure === 'input' ? cannotCheck(error) : undefined
        const message = local ? await describeCannotCheck(o.loaded, o.ctx, local) : (error as Error).message
        h = {
          node: n.name,
          exitCode: null,
          stdout: '',
          stderr: '',
          durationMs: Math.round(performance.now() - started),
          failure,
          error: message,
          ...(isSshTimeout(error) ? {timedOut: true} : {}),
        }
      }
      o.onHost?.(h)
      return h
    })
    return {target: o.target, command: o.command, hosts, summary: summarize(hosts)}
  } finally {
    client?.close()
    await remote.close()
  }
}

function summarize(hosts: HostResult[]): ExecResult['summary'] {
  const s = {ok: 0, failed: 0, unreachable: 0, timedOut: 0}
  for (const h of hosts) {
    if (h.timedOut) s.timedOut++
    else if (h.failure === 'connection') s.unreachable++
    else if (h.exitCode === 0 && !h.error) s.ok++
    else s.failed++
  }
  return s
}

function failureKind(error: unknown): NonNullable<HostResult['failure']> {
  if (error instanceof SshConnectionError) return 'connection'
  if (error instanceof RefusedError) return 'refused'
  if (error instanceof UsageError) return 'input'
  return 'command'
}

/** The exit of a run: a refusal (6) over bad local input (2) over any other failure (3). */
export function execExit(result: ExecResult): ExitName {
  const failures = new Set(result.hosts.map((h) => (h.exitCode === 0 ? undefined : (h.failure ?? 'command'))))
  if (failures.has('refused')) return 'REFUSED'
  if (failures.has('input')) return 'USAGE'
  return [...failures].some(Boolean) ? 'OPERATION_FAILED' : 'OK'
}
