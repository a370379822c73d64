import {chainfireClientFor} from '../../adapters/chainfire/index.js'
import type {QmpStatus} from '../../adapters/qmp/index.js'
import {findNode} from '../../config/context.js'
import type {LoadedConfig} from '../../config/load.js'
import type {Context} from '../../config/schema.js'
import {OperationError, RefusedError} from '../../errors.js'
import type {Reporter} from '../reporter.js'
import {asVmChange} from './change.js'
import {Remote} from '../remote.js'
import {killQemuCommand, probeQmp, qmpTimeoutMs, scanHost} from './hosts.js'
import {loadVmRecord, mayRunOn, resolveVm, vmKey} from './records.js'

export interface VmRestartPlan {
  id: string
  name: string
  fromHost: string
  toHost: string
  relocate: boolean
  /** The QEMU process to stop first (hung or paused VM), when the old host answers. */
  stopPid: number | null
  oldHostReachable: boolean
  startCommand: string
  steps: string[]
}

export interface VmRestartResult {
  id: string
  host: string
  relocated: boolean
  previousHost: string
  stoppedPid: number | null
  qmpStatus: QmpStatus | null
  dryRun: boolean
  plan: VmRestartPlan
  durationMs: number
}

export interface VmRestartOptions {
  loaded: LoadedConfig
  ctx: Context
  reporter: Reporter
  id: string
  /** Start the VM on this host instead (host failure); the record must allow it (relocatable, allowedHosts). */
  host?: string
  dryRun?: boolean
  confirm: (plan: VmRestartPlan) => Promise<boolean>
  qmpTimeoutMs?: number
  /** How long to wait for QMP to report running after the start command (default 15 s). */
  waitMs?: number
  /** The caller holds the cluster lock already (vm evacuate); otherwise a run (not a dry run) takes it. */
  locked?: boolean
}

/**
 * Restarts one VM with its host's start command; stops a leftover (hung/paused) QEMU first; checks
 * QMP after. A run holds the cluster lock from its plan to its end (a held lock refuses, exit 6).
 */
export function restartVm(opts: VmRestartOptions): Promise<VmRestartResult> {
  return asVmChange(opts, `vm restart ${opts.id}`, () => restart(opts))
}

async function restart(opts: VmRestartOptions): Promise<VmRestartResult> {
  const t0 = performance.now()
  const client = chainfireClientFor(opts.loaded, opts.ctx)
  const remote = new Remote(opts.loaded, opts.ctx)
  try {
    const stored = await loadVmRecord(client, opts.id)
    const rec = stored.record
    const toHost = opts.host ?? rec.host
    const relocate = toHost !== rec.host
    if (!mayRunOn(rec, toHost)) {
      throw new RefusedError(
        `VM ${rec.id} may not run on ${toHost}: its record ${rec.relocatable ? `allows only ${rec.allowedHosts?.join(', ')}` : 'is not relocatable'}`,
        {
          key: stored.key,
          hint: `restart it on its own host (${rec.host}) once that host is back`,
        },
      )
    }
    const target = findNode(opts.ctx, toHost)
    const from = resolveVm(rec, rec.host)
    const to = resolveVm(rec, toHost)
    const qmpMs = qmpTimeoutMs(opts.ctx, opts.qmpTimeoutMs)

    // What runs now on the record's host for this VM (a hung or paused QEMU must go first).
    const oldNode = opts.ctx.nodes.find((n) => n.name === rec.host)
    const oldScan = oldNode ? await scanHost(remote, opts.ctx, oldNode, 10_000) : undefined
    const old = oldScan?.processes.find((p) => p.qmpSocket === from.qmpSocket)
    if (relocate && !oldScan?.reachable)
      opts.reporter.warn(
        `${rec.host} is unreachable: a QEMU of ${rec.id} may still run there (fence the host before it comes back)`,
      )
    const steps = [
      ...(old ? [`stop QEMU pid ${old.pid} on ${rec.host} (TERM, then KILL)`] : []),
      `on ${toHost}: ${to.startCommand}`,
      ...(relocate ? [`update ${vmKey(rec.id)}: host ${rec.host} -> ${toHost}`] : []),
      `wait until QMP ${to.qmpSocket} on ${toHost} reports running`,
    ]
    const plan: VmRestartPlan = {
      id: rec.id,
      name: rec.name,
      fromHost: rec.host,
      toHost,
      relocate,
      stopPid: old?.pid ?? null,
      oldHostReachable: Boolean(oldScan?.reachable),
      startCommand: to.startCommand,
      steps,
    }
    const result = (extra: Partial<VmRestartResult>): VmRestartResult => ({
      id: rec.id,
      host: toHost,
      relocated: relocate,
      previousHost: rec.host,
      stoppedPid: null,
      qmpStatus: null,
      dryRun: Boolean(opts.dryRun),
      plan,
      durationMs: Math.round(performance.now() - t0),
      ...extra,
    })
    if (opts.dryRun) return result({})
    if (!(await opts.confirm(plan)))
      throw new RefusedError(`restart of VM ${rec.id} not confirmed; nothing was changed`)

    if (old && oldNode) {
      opts.reporter.info(`vm: stopping QEMU pid ${old.pid} of ${rec.id} on ${rec.host}`)
      await remote.execChecked(oldNode, killQemuCommand(old.pid), {timeoutMs: 20_000})
    }
    opts.reporter.info(`vm: starting ${rec.id} on ${toHost}`)
    await remote.execChecked(target, to.startCommand, {timeoutMs: 60_000})
    if (relocate) {
      const updated = {...rec, host: toHost}
      await client.put(stored.key, JSON.stringify(updated))
    }
    const deadline = Date.now() + (opts.waitMs ?? 15_000)
    let last = ''
    for (;;) {
      const q = await probeQmp(remote, target, to.qmpSocket, qmpMs)
      if (q.ok && q.status.status === 'running')
        return result({
          stoppedPid: old?.pid ?? null,
          qmpStatus: q.status,
          durationMs: Math.round(performance.now() - t0),
        })
      last = q.ok ? `status ${q.status.status}` : q.error
      if (Date.now() >= deadline) break
      await new Promise((r) => setTimeout(r, 200))
    }
    throw new OperationError(`VM ${rec.id} was started on ${toHost} but QMP does not report running: ${last}`, {
      host: target.address,
      file: to.qmpSocket,
    })
  } finally {
    client.close()
    await remote.close()
  }
}
