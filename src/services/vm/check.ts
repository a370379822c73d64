import {mapLimit} from '../../core/concurrency.js'
import {chainfireClientFor} from '../../adapters/chainfire/index.js'
import type {LoadedConfig} from '../../config/load.js'
import type {Context, NodeSpec} from '../../config/schema.js'
import type {Finding, Status} from '../health/types.js'
import {worst} from '../health/types.js'
import {describeCannotCheck} from '../health/cannot-check.js'
import {withDeadline} from '../health/deadline.js'
import type {Reporter} from '../reporter.js'
import {Remote} from '../remote.js'
import {type HostScan, probeQmp, type QemuProcess, qmpTimeoutMs, runDirOf, scanHost, vmHosts} from './hosts.js'
import {type InvalidVmRecord, loadVmRecords, resolveVm, type StoredVmRecord, VM_PREFIX} from './records.js'
import {compareText} from '../../core/compare.js'

export type VmProblem =
  | 'crashed'
  | 'hung'
  | 'paused'
  | 'error-state'
  | 'host-unreachable'
  | 'cannot-check'
  | 'unknown-host'
  | 'unexpected-running'
  | 'not-running'

export interface VmState {
  id: string
  name: string
  key: string
  host: string
  desiredState: 'running' | 'stopped'
  relocatable: boolean
  qmpSocket: string
  /** What was seen: running, paused, other QMP states (internal-error, guest-panicked…), crashed, hung, stopped, unknown. */
  observed: string
  pid: number | null
  processState: string | null
  qmpStatus: string | null
  problem: VmProblem | null
  status: Status
  message: string
}

export interface VmHostReport {
  host: string
  address: string
  reachable: boolean
  serviceActive: boolean | null
  error?: string
  /** Why this host could not be checked from here (our key, known_hosts, config, network), with the config line: not a host failure. */
  cannotCheck?: string
  vms: number
  scanMs: number
  /** QEMU processes of this host: those serving a record plus orphans (others outside run-dir are not counted). */
  qemuProcesses: number
  /** Scan plus every QMP query of the host (queries run in parallel). */
  durationMs: number
}

export interface OrphanVm {
  host: string
  pid: number
  qmpSocket: string | null
  processState: string
  /** Set when a record names this socket but another host: a leftover after a restart elsewhere. */
  recordOnHost?: string
  command: string
}

export interface VmCheckReport {
  context: string
  status: Status
  checkedAt: string
  durationMs: number
  revision: number
  hosts: VmHostReport[]
  vms: VmState[]
  orphans: OrphanVm[]
  invalidRecords: InvalidVmRecord[]
  findings: Finding[]
}

export interface VmCheckOptions {
  loaded: LoadedConfig
  ctx: Context
  reporter: Reporter
  /** Per-step QMP deadline (default: context plasmavmc.qmp-timeout or 2 s). */
  qmpTimeoutMs?: number
  /** SSH command deadline (default 10 s). */
  timeoutMs?: number
  /** Only these hosts. */
  hosts?: string[]
  /** Reuse connections (health --watch, restart after check). */
  remote?: Remote
  /** Hosts checked at once (default 32, as exec --forks): a hung host holds one slot for its timeouts. */
  forks?: number
}

/** pdsh's fan-out. */
const DEFAULT_FORKS = 32

const QMP_PROBLEM: Record<string, {problem: VmProblem; status: Status}> = {
  paused: {problem: 'paused', status: 'warn'},
  'internal-error': {problem: 'error-state', status: 'crit'},
  'guest-panicked': {problem: 'error-state', status: 'crit'},
  'io-error': {problem: 'error-state', status: 'crit'},
  shutdown: {problem: 'error-state', status: 'crit'},
}

function vmBase(
  s: StoredVmRecord,
  host: string,
): Omit<VmState, 'observed' | 'pid' | 'processState' | 'qmpStatus' | 'problem' | 'status' | 'message'> {
  const r = s.record
  return {
    id: r.id,
    name: r.name,
    key: s.key,
    host,
    desiredState: r.desiredState,
    relocatable: Boolean(r.relocatable),
    qmpSocket: resolveVm(r, host).qmpSocket,
  }
}

async function checkHost(
  remote: Remote,
  opts: VmCheckOptions,
  node: NodeSpec,
  records: StoredVmRecord[],
  allBySocket: Map<string, StoredVmRecord>,
): Promise<{host: VmHostReport; vms: VmState[]; orphans: OrphanVm[]}> {
  const t0 = performance.now()
  const qmpMs = qmpTimeoutMs(opts.ctx, opts.qmpTimeoutMs)
  const scan: HostScan = await scanHost(remote, opts.ctx, node, opts.timeoutMs ?? 10_000)
  const bySocket = new Map<string, QemuProcess>()
  const claimed = new Set<number>()
  for (const p of scan.processes) if (p.qmpSocket && !bySocket.has(p.qmpSocket)) bySocket.set(p.qmpSocket, p)

  const vms = await Promise.all(
    records.map(async (s): Promise<VmState> => {
      const base = vmBase(s, node.name)
      const r = s.record
      if (scan.cannotCheck) {
        return {
          ...base,
          observed: 'unknown',
          pid: null,
          processState: null,
          qmpStatus: null,
          problem: 'cannot-check',
          status: 'unknown',
          message: `cannot check host ${node.name} from here: ${scan.cannotCheck.cause}`,
        }
      }
      if (!scan.reachable) {
        return {
          ...base,
          observed: 'unknown',
          pid: null,
          processState: null,
          qmpStatus: null,
          problem: 'host-unreachable',
          status: r.desiredState === 'running' ? 'crit' : 'warn',
          message: `host ${node.name} unreachable: ${scan.error}`,
        }
      }
      const proc = bySocket.get(base.qmpSocket)
      if (proc) claimed.add(proc.pid)
      if (!proc) {
        return r.desiredState === 'running'
          ? {
              ...base,
              observed: 'crashed',
              pid: null,
              processState: null,
              qmpStatus: null,
              problem: 'crashed',
              status: 'crit',
              message: `record says running but no QEMU process serves ${base.qmpSocket} on ${node.name} (crashed)`,
            }
          : {
              ...base,
              observed: 'stopped',
              pid: null,
              processState: null,
              qmpStatus: null,
              problem: null,
              status: 'ok',
              message: 'stopped, as desired',
            }
      }
      const q = await probeQmp(remote, node, base.qmpSocket, qmpMs)
      const seen = {pid: proc.pid, processState: proc.state}
      if (!q.ok) {
        const why = proc.state === 'T' ? 'process is stopped (SIGSTOP/tracing)' : q.error
        return {
          ...seen,
          ...base,
          observed: 'hung',
          qmpStatus: null,
          problem: 'hung',
          status: 'crit',
          message: `QEMU pid ${proc.pid} is alive but QMP does not answer (hung): ${why}`,
        }
      }
      const st = q.status.status
      if (r.desiredState === 'stopped') {
        return {
          ...seen,
          ...base,
          observed: st,
          qmpStatus: st,
          problem: 'unexpected-running',
          status: 'warn',
          message: `record says stopped but QEMU pid ${proc.pid} runs (QMP status ${st})`,
        }
      }
      if (st === 'running')
        return {...seen, ...base, observed: 'running', qmpStatus: st, problem: null, status: 'ok', message: 'running'}
      const p = QMP_PROBLEM[st] ?? {problem: 'not-running' as VmProblem, status: 'warn' as Status}
      return {
        ...seen,
        ...base,
        observed: st,
        qmpStatus: st,
        problem: p.problem,
        status: p.status,
        message: `QMP reports status ${st}`,
      }
    }),
  )

  const runDir = runDirOf(opts.ctx, node)
  const orphans: OrphanVm[] = []
  for (const p of scan.processes) {
    if (claimed.has(p.pid)) continue
    // With a run-dir, only QEMU processes whose socket lives there belong to PlasmaVMC on this host.
    if (runDir && !(p.qmpSocket && p.qmpSocket.startsWith(`${runDir}/`))) continue
    const other = p.qmpSocket ? allBySocket.get(p.qmpSocket) : undefined
    orphans.push({
      host: node.name,
      pid: p.pid,
      qmpSocket: p.qmpSocket,
      processState: p.state,
      recordOnHost: other?.record.host,
      command: p.argv.join(' '),
    })
  }
  return {
    host: {
      host: node.name,
      address: node.address,
      reachable: scan.reachable,
      serviceActive: scan.serviceActive,
      ...(scan.error ? {error: scan.error} : {}),
      ...(scan.cannotCheck ? {cannotCheck: await describeCannotCheck(opts.loaded, opts.ctx, scan.cannotCheck)} : {}),
      vms: records.length,
      qemuProcesses: claimed.size + orphans.length,
      scanMs: scan.durationMs,
      durationMs: Math.round(performance.now() - t0),
    },
    vms,
    orphans,
  }
}

/** Records vs reality on every PlasmaVMC host: one SSH connection per host, hosts and QMP queries in parallel. */
export async function checkVms(opts: VmCheckOptions): Promise<VmCheckReport> {
  const started = performance.now()
  const client = chainfireClientFor(opts.loaded, opts.ctx, {commandTimeoutMs: opts.timeoutMs})
  const remote = opts.remote ?? new Remote(opts.loaded, opts.ctx)
  try {
    const {revision, records, invalid} = await withDeadline(
      loadVmRecords(client),
      opts.timeoutMs ?? 10_000,
      'reading VM records from ChainFire',
    )
    const nodes = new Map(opts.ctx.nodes.filter((n) => !n.removed).map((n) => [n.name, n]))
    const hostNames = new Set(vmHosts(opts.ctx).map((n) => n.name))
    for (const s of records) if (nodes.has(s.record.host)) hostNames.add(s.record.host)
    const wanted = [...hostNames].filter((h) => !opts.hosts || opts.hosts.includes(h)).sort()
    const allBySocket = new Map<string, StoredVmRecord>()
    for (const s of records) allBySocket.set(resolveVm(s.record).qmpSocket, s)

    const perHost = await mapLimit(wanted, opts.forks ?? DEFAULT_FORKS, (h) =>
      checkHost(
        remote,
        opts,
        nodes.get(h)!,
        records.filter((s) => s.record.host === h),
        allBySocket,
      ),
    )
    const unknownHost: VmState[] = records
      .filter((s) => !nodes.has(s.record.host) && (!opts.hosts || opts.hosts.includes(s.record.host)))
      .map((s) => ({
        ...vmBase(s, s.record.host),
        observed: 'unknown',
        pid: null,
        processState: null,
        qmpStatus: null,
        problem: 'unknown-host',
        status: 'crit',
        message: `record names host "${s.record.host}", which is not a node of context "${opts.ctx.name}"`,
      }))

    const hosts = perHost.map((p) => p.host)
    const vms = [...perHost.flatMap((p) => p.vms), ...unknownHost].sort((a, b) => compareText(a.id, b.id))
    const orphans = perHost.flatMap((p) => p.orphans)
    const findings: Finding[] = []
    // One line per local cause, however many hosts it keeps us from checking.
    const byCause = new Map<string, VmHostReport[]>()
    for (const h of hosts) if (h.cannotCheck) byCause.set(h.cannotCheck, [...(byCause.get(h.cannotCheck) ?? []), h])
    for (const [cause, hs] of byCause) {
      const n = vms.filter((v) => v.problem === 'cannot-check' && hs.some((h) => h.host === v.host)).length
      findings.push({
        status: 'unknown',
        target: hs.map((h) => h.host).join(','),
        message: `cannot check host${hs.length > 1 ? 's' : ''} ${hs.map((h) => h.host).join(', ')} (${n} VM(s)) from here, not an outage: ${cause}`,
        fix: 'plasmactl config validate   (after fixing the file it names)',
      })
    }
    for (const h of hosts) {
      if (h.cannotCheck) continue
      else if (!h.reachable)
        findings.push({status: 'crit', target: h.host, message: `host ${h.host} unreachable: ${h.error}`})
      else if (h.serviceActive === false)
        findings.push({status: 'crit', target: h.host, message: `PlasmaVMC service on ${h.host} is not active`})
    }
    for (const v of vms)
      if (v.status !== 'ok' && v.problem !== 'host-unreachable' && v.problem !== 'cannot-check')
        findings.push({status: v.status, target: v.id, message: `VM ${v.id} (${v.name}) on ${v.host}: ${v.message}`})
    for (const h of hosts) {
      const n = vms.filter((v) => v.host === h.host && v.problem === 'host-unreachable').length
      if (n > 0)
        findings.push({
          status: 'crit',
          target: h.host,
          message: `${n} VM(s) on unreachable host ${h.host} in unknown state`,
        })
    }
    for (const o of orphans) {
      const where = o.qmpSocket ? `socket ${o.qmpSocket}` : 'no QMP socket'
      findings.push({
        status: 'warn',
        target: `${o.host}:${o.pid}`,
        message: `orphan QEMU pid ${o.pid} on ${o.host} (${where})${o.recordOnHost ? `: its record says host ${o.recordOnHost}` : ': no VM record'}`,
      })
    }
    for (const i of invalid)
      findings.push({status: 'warn', target: i.key, message: `invalid VM record ${i.key}: ${i.error}`})
    if (hosts.length === 0 && records.length === 0)
      opts.reporter.warn(`no PlasmaVMC hosts (role plasmavmc-host) and no records under ${VM_PREFIX}`)
    return {
      context: opts.ctx.name,
      status: worst(findings.map((f) => f.status)),
      checkedAt: new Date().toISOString(),
      durationMs: Math.round(performance.now() - started),
      revision,
      hosts,
      vms,
      orphans,
      invalidRecords: invalid,
      findings,
    }
  } finally {
    client.close()
    if (!opts.remote) await remote.close()
  }
}
