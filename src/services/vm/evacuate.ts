import type {LoadedConfig} from '../../config/load.js'
import type {Context} from '../../config/schema.js'
import {RefusedError, UsageError} from '../../errors.js'
import type {Reporter} from '../reporter.js'
import {asVmChange} from './change.js'
import {checkVms} from './check.js'
import {chainfireClientFor} from '../../adapters/chainfire/index.js'
import {loadVmRecord, mayRunOn} from './records.js'
import {restartVm} from './restart.js'
import {compareText} from '../../core/compare.js'

export interface EvacuationItem {
  id: string
  name: string
  /** moved: restarted elsewhere; would-move: dry run; pinned: the record does not allow another host; no-target: no healthy host allowed; failed. */
  outcome: 'moved' | 'would-move' | 'pinned' | 'no-target' | 'failed' | 'not-running'
  toHost?: string
  error?: string
}

export interface EvacuationResult {
  host: string
  hostReachable: boolean
  dryRun: boolean
  vms: EvacuationItem[]
}

export interface EvacuateOptions {
  loaded: LoadedConfig
  ctx: Context
  reporter: Reporter
  host: string
  dryRun?: boolean
  /** Evacuate even though the host answers and its service is active. */
  force?: boolean
  confirm: (plan: EvacuationItem[]) => Promise<boolean>
}

/**
 * Host failure: lists the VMs recorded on HOST; restarts each relocatable one on the healthy host
 * with the fewest VMs that its record allows; reports the pinned ones (they wait for their host).
 */
export function evacuateHost(opts: EvacuateOptions): Promise<EvacuationResult> {
  return asVmChange(opts, `vm evacuate ${opts.host}`, () => evacuate(opts))
}

async function evacuate(opts: EvacuateOptions): Promise<EvacuationResult> {
  const report = await checkVms({loaded: opts.loaded, ctx: opts.ctx, reporter: opts.reporter})
  const failed = report.hosts.find((h) => h.host === opts.host)
  if (!failed)
    throw new UsageError(
      `${opts.host} is not a PlasmaVMC host of context "${opts.ctx.name}" (have: ${report.hosts.map((h) => h.host).join(', ')})`,
    )
  // A host we cannot check from here (our key, known_hosts) may be running its VMs: moving them would run each twice.
  if (failed.cannotCheck && !opts.force)
    throw new UsageError(
      `cannot check ${opts.host} from here, so it is not known to have failed: ${failed.cannotCheck}`,
      {hint: 'fix the local cause first; pass --force only when the host is known to be down'},
    )
  const hostDown = !failed.reachable || failed.serviceActive === false
  if (!hostDown && !opts.force)
    throw new RefusedError(`${opts.host} is reachable and its PlasmaVMC service is active: not a host failure`, {
      hint: 'pass --force to evacuate a healthy host anyway',
    })
  const healthy = report.hosts.filter((h) => h.host !== opts.host && h.reachable && h.serviceActive)
  const load = new Map(healthy.map((h) => [h.host, report.vms.filter((v) => v.host === h.host).length]))
  const items: EvacuationItem[] = []
  const client = chainfireClientFor(opts.loaded, opts.ctx)
  const loadRecord = async (id: string) => (await loadVmRecord(client, id)).record
  try {
    for (const v of report.vms.filter((x) => x.host === opts.host)) {
      if (v.desiredState !== 'running') {
        items.push({id: v.id, name: v.name, outcome: 'not-running'})
        continue
      }
      if (!v.relocatable) {
        items.push({id: v.id, name: v.name, outcome: 'pinned'})
        continue
      }
      const candidates = [...load.entries()].sort((a, b) => a[1] - b[1] || compareText(a[0], b[0]))
      // allowedHosts is checked by restartVm too; here it only picks the target.
      const stored = await loadRecord(v.id)
      const target = candidates.find(([h]) => mayRunOn(stored, h))?.[0]
      if (!target) {
        items.push({id: v.id, name: v.name, outcome: 'no-target'})
        continue
      }
      load.set(target, (load.get(target) ?? 0) + 1)
      items.push({id: v.id, name: v.name, outcome: 'would-move', toHost: target})
    }
  } finally {
    client.close()
  }
  const result: EvacuationResult = {
    host: opts.host,
    hostReachable: failed.reachable,
    dryRun: Boolean(opts.dryRun),
    vms: items,
  }
  const moves = items.filter((i) => i.outcome === 'would-move')
  if (opts.dryRun || moves.length === 0) return result
  if (!(await opts.confirm(items)))
    throw new RefusedError(`evacuation of ${opts.host} not confirmed; nothing was changed`)
  for (const m of moves) {
    try {
      await restartVm({
        loaded: opts.loaded,
        ctx: opts.ctx,
        reporter: opts.reporter,
        id: m.id,
        host: m.toHost,
        confirm: async () => true,
        locked: true,
      })
      m.outcome = 'moved'
    } catch (error) {
      m.outcome = 'failed'
      m.error = (error as Error).message
    }
  }
  return result
}
