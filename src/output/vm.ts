import type {ReconcileOrphansResult, VmCheckReport, VmRestartResult} from '../services/vm/index.js'
import {paintStatus, renderTable} from './table.js'

export function renderVmList(r: VmCheckReport): string {
  const rows = r.vms.map((v) => [
    v.id,
    v.name,
    v.host,
    v.desiredState,
    paintStatus(v.status, v.observed),
    v.pid ? String(v.pid) : '-',
    v.relocatable ? 'yes' : 'no',
  ])
  const out = [renderTable(['ID', 'NAME', 'HOST', 'DESIRED', 'OBSERVED', 'PID', 'RELOCATABLE'], rows)]
  for (const i of r.invalidRecords) out.push(`invalid record ${i.key}: ${i.error}`)
  return out.join('\n')
}

export function renderVmCheck(r: VmCheckReport): string {
  const lines = [
    `${paintStatus(r.status)}  context ${r.context}: ${r.vms.length} VM record(s), ${r.orphans.length} orphan(s), ${r.invalidRecords.length} invalid record(s), ${r.durationMs} ms`,
  ]
  lines.push(
    renderTable(
      ['HOST', 'REACHABLE', 'SERVICE', 'VMS', 'QEMU', 'TIME'],
      r.hosts.map((h) => [
        h.host,
        h.reachable ? 'yes' : paintStatus('crit', 'NO'),
        h.serviceActive === null ? '-' : h.serviceActive ? 'active' : paintStatus('crit', 'inactive'),
        String(h.vms),
        String(h.qemuProcesses),
        `${h.durationMs} ms`,
      ]),
    ),
  )
  if (r.findings.length > 0) {
    lines.push('problems:')
    for (const f of r.findings) lines.push(`  ${paintStatus(f.status)}  ${f.message}`)
  }
  return lines.join('\n')
}

export function renderVmRestart(r: VmRestartResult): string {
  if (r.dryRun)
    return [
      `dry run: would restart ${r.id}${r.relocated ? ` on ${r.host} (was ${r.previousHost})` : ` on ${r.host}`}:`,
      ...r.plan.steps.map((s, i) => `  ${i + 1}. ${s}`),
    ].join('\n')
  return `restarted ${r.id} on ${r.host}${r.relocated ? ` (moved from ${r.previousHost})` : ''}${r.stoppedPid ? `, stopped old pid ${r.stoppedPid}` : ''}: QMP status ${r.qmpStatus?.status} (${r.durationMs} ms)`
}

export function renderReconcile(r: ReconcileOrphansResult): string {
  const lines: string[] = []
  if (r.orphans.length === 0) lines.push('no orphan QEMU processes')
  else {
    lines.push(`${r.orphans.length} orphan QEMU process(es)${r.dryRun ? ' (dry run: nothing stopped)' : ''}:`)
    lines.push(
      renderTable(
        ['HOST', 'PID', 'STATE', 'QMP SOCKET', 'NOTE'],
        r.orphans.map((o) => [
          o.host,
          String(o.pid),
          o.processState,
          o.qmpSocket ?? '-',
          o.recordOnHost ? `record on ${o.recordOnHost}` : 'no record',
        ]),
      ),
    )
  }
  for (const s of r.stopped) lines.push(`stopped pid ${s.pid} on ${s.host}`)
  for (const f of r.failed) lines.push(`FAILED to stop pid ${f.pid} on ${f.host}: ${f.error}`)
  for (const h of r.unreachable) lines.push(`warning: ${h} unreachable, its orphans are unknown`)
  return lines.join('\n')
}
