import {join} from 'node:path'
import {chainfireClientFor} from '../../adapters/chainfire/index.js'
import {activeNodes, serviceCommand} from '../../config/context.js'
import type {LoadedConfig} from '../../config/load.js'
import type {Context, NodeSpec} from '../../config/schema.js'
import {RefusedError, UsageError} from '../../errors.js'
import {shellQuote} from '../../shell-quote.js'
import {HealthChecker} from '../health/index.js'
import {Remote} from '../remote.js'
import type {Reporter} from '../reporter.js'
import {secs} from './analyze.js'
import {beginDrillRun} from './begin.js'
import type {DrillSpec} from './catalog.js'
import {type AppliedFault, FaultInjector} from './faults.js'
import type {HealthSample} from './monitor.js'
import {configuredObjectives, type DrillObjectives, endDrillRun} from './slo.js'
import type {ComponentMeasures, DrillResult, SloResult} from './types.js'

export interface ComponentDrillOptions {
  loaded: LoadedConfig
  ctx: Context
  reporter: Reporter
  journalDir: string
  reportDir?: string
  node?: string
  baselineSeconds: number
  holdSeconds: number
  recover: boolean
  rtoTimeoutSeconds: number
  objectives: DrillObjectives
  /** Runs a product runbook as the recovery; "ok" or why not. */
  runbook: (name: string, params: Record<string, string>) => Promise<string>
}

/** What a component fault hits, how it is done and undone on the node, and how the product recovers it. */
interface ComponentTarget {
  /** The health check component that must see it. */
  component: string
  node: NodeSpec
  what: string
  wasLeader: boolean
  command: string
  undo: string
  recovery: {runbook: string; params: Record<string, string>} | {command: string}
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Health statuses from best to worst: a fault is a status worse than before it, recovery one as good. */
const RANK: Record<string, number> = {ok: 0, warn: 1, crit: 2, unknown: 3}
const rank = (status: string) => RANK[status] ?? 3

function nodesWith(ctx: Context, role: string, named?: string): NodeSpec[] {
  const nodes = activeNodes(ctx).filter((n) => (n.roles as string[]).includes(role))
  if (nodes.length === 0) throw new UsageError(`context ${ctx.name} has no node with the ${role} role`)
  if (!named) return nodes
  const n = nodes.find((x) => x.name === named)
  if (!n) throw new UsageError(`no ${role} node "${named}" (${role} nodes: ${nodes.map((x) => x.name).join(', ')})`)
  return [n]
}

/** Service kill (SIGKILL) with a dead-man start; the recovery as given. */
function serviceKill(
  ctx: Context,
  node: NodeSpec,
  service: string,
  component: string,
  recovery: ComponentTarget['recovery'],
  wasLeader = false,
): ComponentTarget {
  return {
    component,
    node,
    what: `${service} on ${node.name}`,
    wasLeader,
    command: serviceCommand(ctx, node, service, 'kill'),
    undo: serviceCommand(ctx, node, service, 'start'),
    recovery,
  }
}

async function resolveTarget(spec: DrillSpec, o: ComponentDrillOptions): Promise<ComponentTarget> {
  switch (spec.name) {
    case 'iam-stop': {
      const node = nodesWith(o.ctx, 'iam', o.node)[0]
      return {
        component: 'iam',
        node,
        what: `iam on ${node.name}`,
        wasLeader: false,
        command: serviceCommand(o.ctx, node, 'iam', 'stop'),
        undo: serviceCommand(o.ctx, node, 'iam', 'start'),
        recovery: {command: 'start'},
      }
    }
    case 'flaredb-store-kill': {
      const node = nodesWith(o.ctx, 'flaredb', o.node)[0]
      return serviceKill(o.ctx, node, 'flaredb', 'flaredb', {
        runbook: 'flaredb/store-restart',
        params: {node: node.name},
      })
    }
    case 'ovn-nb-leader-kill': {
      const {checkPrismnet} = await import('../prismnet/index.js')
      const {details} = await checkPrismnet({loaded: o.loaded, ctx: o.ctx, timeoutMs: 3000})
      const leader = o.node ?? details.nb?.leader
      if (!leader || leader.includes(','))
        throw new RefusedError(`preflight: the OVN NB cluster has no single leader (${leader ?? 'none'})`, {
          hint: 'plasmactl health',
        })
      const node = nodesWith(o.ctx, 'prismnet', leader)[0]
      return serviceKill(
        o.ctx,
        node,
        'ovn-nb',
        'prismnet',
        {runbook: 'prismnet/ovn-db-recovery', params: {node: node.name}},
        !o.node || o.node === details.nb?.leader,
      )
    }
    case 'vm-qemu-kill': {
      const {loadVmRecords, resolveVm} = await import('../vm/records.js')
      const client = chainfireClientFor(o.loaded, o.ctx, {commandTimeoutMs: 5000})
      try {
        const {records} = await loadVmRecords(client)
        const vm = records.find(
          (r) => r.record.desiredState === 'running' && r.record.pidFile && (!o.node || r.record.host === o.node),
        )
        if (!vm)
          throw new RefusedError('preflight: no running VM with a pid file to crash', {hint: 'plasmactl vm list'})
        const node = nodesWith(o.ctx, 'plasmavmc-host', vm.record.host)[0]
        const r = resolveVm(vm.record)
        const pid = `$(cat ${shellQuote(r.pidFile!)})`
        return {
          component: 'plasmavmc',
          node,
          what: `QEMU of VM ${vm.record.id} on ${node.name}`,
          wasLeader: false,
          // Only a QEMU process is killed (a recycled pid is left alone).
          command: `p=${pid}; case "$(cat /proc/$p/comm 2>/dev/null)" in qemu-system-*|qemu-kvm|kvm) kill -KILL $p ;; *) echo "pid $p is not QEMU" >&2; exit 1 ;; esac`,
          undo: `kill -0 ${pid} 2>/dev/null || ${r.startCommand}`,
          recovery: {runbook: 'plasmavmc/vm-crash-restart', params: {vm: vm.record.id}},
        }
      } finally {
        client.close()
      }
    }
    default:
      throw new UsageError(`drill ${spec.name} is not a component drill`)
  }
}

/**
 * A component fault (QEMU killed, IAM stopped, a FlareDB store or the OVN NB leader killed) with a
 * dead-man timer on the node, recovered by the product's own runbook (or service command), timed:
 * detection by the component's health probe, recovery, and fault → the component healthy again.
 */
export async function runComponentDrill(spec: DrillSpec, o: ComponentDrillOptions): Promise<DrillResult> {
  const target = await resolveTarget(spec, o)
  const checker = new HealthChecker({
    loaded: o.loaded,
    ctx: o.ctx,
    reporter: o.reporter,
    timeoutMs: 1000,
    components: [target.component],
  })
  const remote = new Remote(o.loaded, o.ctx)
  const client = chainfireClientFor(o.loaded, o.ctx, {commandTimeoutMs: 3000})
  const cleanups: (() => Promise<unknown>)[] = [
    async () => checker.close(),
    () => remote.close(),
    async () => client.close(),
  ]
  try {
    // The baseline: ok, or a warning that was there before the fault (a fault is what makes it worse).
    const pre = await checker.check()
    const base = rank(pre.status)
    if (base > RANK.warn)
      throw new RefusedError(`preflight: ${target.component} is ${pre.status}: a drill needs it healthy first`, {
        hint: `plasmactl health --component ${target.component}`,
      })
    const {runId, journal} = await beginDrillRun(
      {ctx: o.ctx, reporter: o.reporter, client, cleanups},
      o.journalDir,
      spec.name,
      target.node.name,
    )
    const injector = new FaultInjector(remote, o.ctx, runId)
    const live: {f?: AppliedFault; reverted: boolean} = {reverted: false}
    const revert = async () => {
      if (!live.f || live.reverted) return
      live.reverted = true
      await injector.revert(live.f, target.node)
    }
    const onSignal = () => {
      if (live.f && !live.reverted) {
        o.reporter.warn(`interrupted: reverting the fault on ${target.what}`)
        void revert().catch(() => undefined)
      }
    }
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.prependListener(s, onSignal)
    cleanups.unshift(async () => {
      for (const s of ['SIGINT', 'SIGTERM'] as const) process.removeListener(s, onSignal)
    }, revert)

    const t0 = performance.now()
    const now = () => performance.now() - t0
    const health: HealthSample[] = []
    let watching = true
    const loop = (async () => {
      while (watching) {
        const started = now()
        const r = await checker.check().catch(() => ({status: 'unknown'}))
        health.push({started, t: now(), status: r.status})
        await sleep(Math.max(0, 500 - (now() - started)))
      }
    })()
    cleanups.unshift(async () => {
      watching = false
      await loop
    })
    o.reporter.info(`drill ${spec.name} (run ${runId}): ${target.what}; baseline ${o.baselineSeconds}s`)
    await sleep(o.baselineSeconds * 1000)
    const deadMan = o.recover ? o.holdSeconds + 300 : o.holdSeconds
    await journal.append({
      type: 'step-start',
      step: 'fault',
      target: target.node.name,
      data: {what: target.what, deadManSeconds: deadMan},
    })
    const faultAt = now()
    live.f = await injector.component(target.node, target.command, target.undo, deadMan)
    await journal.append({type: 'step-end', step: 'fault', target: target.node.name, ok: true})
    o.reporter.info(`fault: ${spec.fault} ${target.what}; holding ${o.holdSeconds}s`)
    await sleep(o.holdSeconds * 1000)

    const method = !o.recover
      ? 'dead-man timer (--no-recover)'
      : 'runbook' in target.recovery
        ? `runbook ${target.recovery.runbook}`
        : `service ${target.component} start`
    await journal.append({type: 'step-start', step: 'recover', target: target.node.name, data: {method}})
    const recoverAt = now()
    let status = 'ok'
    if (!o.recover) live.reverted = true
    else if ('runbook' in target.recovery) {
      status = await o.runbook(target.recovery.runbook, target.recovery.params).catch((e: Error) => e.message)
      live.reverted = true
      await injector.disarm(live.f, target.node)
    } else await revert()
    const recoveredAt = now()
    await journal.append({
      type: 'step-end',
      step: 'recover',
      target: target.node.name,
      ok: status === 'ok',
      ...(status === 'ok' ? {} : {error: status}),
    })
    // Healthy again: the first probe started after the recovery began that is as good as the baseline.
    const deadline = Date.now() + o.rtoTimeoutSeconds * 1000
    const healthyAgain = () => health.find((h) => h.started > Math.max(faultAt, recoverAt) && rank(h.status) <= base)
    while (!healthyAgain() && Date.now() < deadline) await sleep(250)
    watching = false
    await loop
    const back = healthyAgain()
    const detected = health.find((h) => h.started >= faultAt && rank(h.status) > base)
    const m: ComponentMeasures = {
      detectionSeconds: detected ? secs(detected.t - faultAt) : null,
      recoverySeconds: secs(recoveredAt - recoverAt),
      rtoSeconds: back ? secs(back.t - faultAt) : null,
    }
    const slo: SloResult[] = [
      {
        objective: `${target.component} health probe reports the fault`,
        limit: 'detected',
        value: m.detectionSeconds,
        pass: m.detectionSeconds !== null,
      },
      {objective: `recovered by ${method}`, limit: 'ok', value: status === 'ok', pass: status === 'ok'},
      {
        objective: `${target.component} healthy again`,
        limit: `within ${o.rtoTimeoutSeconds}s`,
        value: m.rtoSeconds,
        pass: m.rtoSeconds !== null,
      },
      ...configuredObjectives(o.objectives, m),
    ]
    const reportDir = o.reportDir ?? join(o.journalDir, runId)
    const result: DrillResult = {
      ...(await endDrillRun(journal, slo, {runId, drill: spec.name, context: o.ctx.name, reportDir})),
      fault: {kind: spec.fault, node: target.node.name, wasLeader: target.wasLeader, deadManSeconds: deadMan},
      recovery: {method, status, seconds: m.recoverySeconds},
      measures: m,
      slo,
      component: {name: target.component, what: target.what},
      timeline: {
        faultAt: secs(faultAt)!,
        revertedAt: secs(recoveredAt)!,
        recoveredAt: back ? secs(back.t) : null,
        end: secs(now())!,
      },
      health: health.map((h) => ({...h, started: secs(h.started)!, t: secs(h.t)!})),
      journal: journal.path,
      reportDir,
    }
    const {writeDrillReport} = await import('./report.js')
    await writeDrillReport(reportDir, result, [], journal.path)
    return result
  } finally {
    for (const c of cleanups) await c().catch(() => undefined)
  }
}
