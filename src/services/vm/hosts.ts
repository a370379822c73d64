import {qmpQueryStatus, QmpError, type QmpStatus} from '../../adapters/qmp/index.js'
import {nodesWithRole, serviceCommand} from '../../config/context.js'
import {parseDuration} from '../../config/duration.js'
import type {Context, NodeSpec} from '../../config/schema.js'
import {OperationError} from '../../errors.js'
import {type CannotCheck, cannotCheck} from '../health/cannot-check.js'
import type {Remote} from '../remote.js'

/** One QEMU process seen on a host. */
export interface QemuProcess {
  pid: number
  /** Kernel state letter: R/S running or sleeping, T stopped (SIGSTOP), D uninterruptible. */
  state: string
  /** Path of the -qmp unix socket, when it has one. */
  qmpSocket: string | null
  argv: string[]
}

export interface HostScan {
  reachable: boolean
  error?: string
  /** Set when the failure is ours (key, known_hosts, config, network): the host's state is unknown, not down. */
  cannotCheck?: CannotCheck
  serviceActive: boolean | null
  serviceOutput?: string
  processes: QemuProcess[]
  durationMs: number
}

/**
 * Lists QEMU processes from /proc with shell builtins only (no fork per process): pid, state and
 * argv (NUL-separated args turned into \x1f). One SSH command per host.
 */
export const SCAN_SCRIPT = `for d in /proc/[0-9]*; do
  read -r c 2>/dev/null <"$d/comm" || continue
  case "$c" in qemu-system-*|qemu-kvm|kvm) ;; *) continue ;; esac
  read -r st 2>/dev/null <"$d/stat" || continue
  st=\${st##*) }; st=\${st%% *}
  a=$(tr '\\000' '\\037' 2>/dev/null <"$d/cmdline") || continue
  printf '%s\\t%s\\t%s\\n' "\${d#/proc/}" "$st" "$a"
done
exit 0`

/** The unix socket path of "-qmp unix:PATH[,opts]" (also -qmp-pretty and the "-qmp=" form). */
export function qmpSocketOf(argv: string[]): string | null {
  for (let i = 0; i < argv.length; i++) {
    let v: string | undefined
    const a = argv[i]
    if (a === '-qmp' || a === '-qmp-pretty' || a === '--qmp') v = argv[i + 1]
    else if (a.startsWith('-qmp=') || a.startsWith('--qmp=')) v = a.slice(a.indexOf('=') + 1)
    if (v?.startsWith('unix:')) return v.slice(5).split(',')[0]
  }
  return null
}

export function parseScan(stdout: string): QemuProcess[] {
  const out: QemuProcess[] = []
  for (const line of stdout.split('\n')) {
    const [pid, state, args] = line.split('\t')
    if (!pid || !state || args === undefined) continue
    if (state === 'Z' || state === 'X') continue
    const argv = args.split('\x1f').filter((a, i, all) => a !== '' || i < all.length - 1)
    out.push({pid: Number(pid), state, qmpSocket: qmpSocketOf(argv), argv})
  }
  return out
}

export function qmpTimeoutMs(ctx: Context, override?: number): number {
  return override ?? parseDuration(ctx.plasmavmc?.['qmp-timeout'] ?? '2s', 'plasmavmc.qmp-timeout')
}

/** The host's VM socket directory ({node} substituted), if the context sets one. */
export function runDirOf(ctx: Context, node: NodeSpec): string | undefined {
  const d = node.plasmavmc?.['run-dir'] ?? ctx.plasmavmc?.['run-dir']
  return d?.replaceAll('{node}', node.name).replace(/\/+$/, '')
}

export function vmHosts(ctx: Context): NodeSpec[] {
  return nodesWithRole(ctx, 'plasmavmc-host')
}

/** Service state and QEMU processes of one host: two commands on one SSH connection, in parallel. */
export async function scanHost(remote: Remote, ctx: Context, node: NodeSpec, timeoutMs: number): Promise<HostScan> {
  const t0 = performance.now()
  try {
    const [svc, scan] = await Promise.all([
      remote.exec(node, serviceCommand(ctx, node, 'plasmavmc', 'is-active'), {timeoutMs}),
      remote.exec(node, SCAN_SCRIPT, {timeoutMs}),
    ])
    if (scan.exitCode !== 0)
      throw new OperationError(`${node.name}: listing QEMU processes failed: ${scan.stderr.trim()}`, {
        host: node.address,
      })
    return {
      reachable: true,
      serviceActive: svc.exitCode === 0,
      serviceOutput: (svc.stdout.trim() || svc.stderr.trim()).split('\n')[0],
      processes: parseScan(scan.stdout),
      durationMs: Math.round(performance.now() - t0),
    }
  } catch (error) {
    const local = cannotCheck(error)
    return {
      reachable: false,
      error: (error as Error).message,
      ...(local ? {cannotCheck: local} : {}),
      serviceActive: null,
      processes: [],
      durationMs: Math.round(performance.now() - t0),
    }
  }
}

export type QmpProbe =
  {ok: true; status: QmpStatus; durationMs: number} | {ok: false; kind: string; error: string; durationMs: number}

/** query-status through an SSH stream-local forward to the VM's socket. */
export async function probeQmp(remote: Remote, node: NodeSpec, socket: string, timeoutMs: number): Promise<QmpProbe> {
  const t0 = performance.now()
  const ms = () => Math.round(performance.now() - t0)
  try {
    const ch = await remote.forward(node, socket, {timeoutMs})
    const status = await qmpQueryStatus(ch, {timeoutMs, where: `${node.name}:${socket}`})
    return {ok: true, status, durationMs: ms()}
  } catch (error) {
    return {
      ok: false,
      kind: error instanceof QmpError ? error.kind : 'forward',
      error: (error as Error).message,
      durationMs: ms(),
    }
  }
}

/** Stops a QEMU process: TERM (CONT too, so a stopped one sees it), then KILL; checks it is still QEMU first. */
export function killQemuCommand(pid: number, graceTenths = 50): string {
  const p = String(pid)
  return [
    `p=${p}`,
    `read -r c 2>/dev/null </proc/$p/comm || exit 0`,
    `case "$c" in qemu-system-*|qemu-kvm|kvm) ;; *) echo "pid $p is not QEMU ($c)" >&2; exit 1 ;; esac`,
    `kill -TERM $p 2>/dev/null; kill -CONT $p 2>/dev/null`,
    `alive() { read -r s 2>/dev/null </proc/$p/stat || return 1; s=\${s##*) }; case "$s" in Z*|X*) return 1 ;; esac; return 0; }`,
    `i=0; while alive && [ $i -lt ${graceTenths} ]; do sleep 0.1; i=$((i+1)); done`,
    `if alive; then kill -KILL $p 2>/dev/null; i=0; while alive && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; fi`,
    `if alive; then echo "pid $p survived SIGKILL" >&2; exit 1; fi`,
  ].join('\n')
}
