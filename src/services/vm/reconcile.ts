import type {LoadedConfig} from '../../config/load.js'
import type {Context} from '../../config/schema.js'
import {RefusedError} from '../../errors.js'
import type {Reporter} from '../reporter.js'
import {Remote} from '../remote.js'
import {asVmChange} from './change.js'
import {checkVms, type OrphanVm} from './check.js'
import {killQemuCommand} from './hosts.js'

export interface ReconcileOrphansResult {
  dryRun: boolean
  orphans: OrphanVm[]
  stopped: {host: string; pid: number}[]
  failed: {host: string; pid: number; error: string}[]
  /** Hosts that could not be scanned: orphans there are unknown. */
  unreachable: string[]
}

export interface ReconcileOrphansOptions {
  loaded: LoadedConfig
  ctx: Context
  reporter: Reporter
  dryRun?: boolean
  confirm: (orphans: OrphanVm[]) => Promise<boolean>
}

/** Finds QEMU processes no record accounts for; a run (after confirmation) stops them. */
export function reconcileOrphans(opts: ReconcileOrphansOptions): Promise<ReconcileOrphansResult> {
  return asVmChange(opts, 'vm reconcile-orphans', () => reconcile(opts))
}

async function reconcile(opts: ReconcileOrphansOptions): Promise<ReconcileOrphansResult> {
  const remote = new Remote(opts.loaded, opts.ctx)
  try {
    const report = await checkVms({loaded: opts.loaded, ctx: opts.ctx, reporter: opts.reporter, remote})
    const base = {
      dryRun: Boolean(opts.dryRun),
      orphans: report.orphans,
      unreachable: report.hosts.filter((h) => !h.reachable).map((h) => h.host),
    }
    if (opts.dryRun || report.orphans.length === 0) return {...base, stopped: [], failed: []}
    if (!(await opts.confirm(report.orphans)))
      throw new RefusedError(
        `stopping ${report.orphans.length} orphan QEMU process(es) not confirmed; nothing was changed`,
      )
    const nodes = new Map(opts.ctx.nodes.map((n) => [n.name, n]))
    const results = await Promise.all(
      report.orphans.map(async (o) => {
        try {
          await remote.execChecked(nodes.get(o.host)!, killQemuCommand(o.pid), {timeoutMs: 20_000})
          opts.reporter.info(`vm: stopped orphan QEMU pid ${o.pid} on ${o.host}`)
          return {ok: true as const, host: o.host, pid: o.pid}
        } catch (error) {
          return {ok: false as const, host: o.host, pid: o.pid, error: (error as Error).message}
        }
      }),
    )
    return {
      ...base,
      stopped: results.filter((r) => r.ok).map(({host, pid}) => ({host, pid})),
      failed: results.flatMap((r) => (r.ok ? [] : [{host: r.host, pid: r.pid, error: r.error}])),
    }
  } finally {
    await remote.close()
  }
}
