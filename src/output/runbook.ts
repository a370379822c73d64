import type {ExecResult} from '../services/exec-on-nodes.js'
import type {PlanEntry, RunResult} from '../runbook/executor.js'

export function renderPlan(r: RunResult): string {
  const out = [`DRY RUN of ${r.runbook} on context ${r.context}: nothing was changed`]
  if (r.fingerprint) out.push(`cluster ${r.fingerprint.clusterId}, leader ${r.fingerprint.leader ?? 'none'}, revision ${r.fingerprint.revision}, members ${r.fingerprint.members.join(' ')}`)
  r.plan.forEach((p: PlanEntry, i) => {
    out.push(`${String(i + 1).padStart(3)}. ${p.step} [${p.kind}]${p.name ? ` ${p.name}` : ''}${p.targets.length ? ` → ${p.targets.join(', ')}` : ''}`)
    for (const d of p.describe) out.push(`       ${d}`)
    for (const imp of p.impact ?? []) out.push(`       quorum: ${imp}`)
    if (p.check) out.push(`       now: ${p.check.ok === null ? 'not evaluated' : p.check.ok ? 'true' : 'FALSE'} (${p.check.detail})`)
  })
  return out.join('\n')
}

export function renderRun(r: RunResult): string {
  const ran = r.steps.filter((s) => s.status === 'ok').length
  const skipped = r.steps.filter((s) => s.status === 'skipped').length
  const before = r.steps.filter((s) => s.status === 'completed-before').length
  return `run ${r.runId}: ${r.runbook} ${r.status} (${ran} step-targets ran${skipped ? `, ${skipped} skipped` : ''}${before ? `, ${before} completed before` : ''}); journal ${r.journal}`
}

export function renderExec(r: ExecResult, group: boolean): string {
  const out: string[] = []
  if (group) {
    for (const h of r.hosts) {
      out.push(`── ${h.node} (${h.error ? h.error : `exit ${h.exitCode}`})`)
      if (h.stdout) out.push(h.stdout.replace(/\n$/, ''))
      if (h.stderr) out.push(h.stderr.replace(/\n$/, ''))
    }
  }
  out.push(`${r.hosts.filter((h) => h.exitCode === 0).length}/${r.hosts.length} ok: ${r.hosts.map((h) => `${h.node}=${h.error ? (h.failure === 'connection' ? 'conn-fail' : 'error') : h.exitCode}`).join(' ')}`)
  return out.join('\n')
}
