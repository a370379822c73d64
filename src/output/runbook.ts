import type {ExecResult, HostResult} from '../services/exec-on-nodes.js'
import type {PlanEntry, RunResult} from '../runbook/executor.js'
import type {LintResult, ListedRunbook, RunLog} from '../runbook/manage.js'
import {renderTable} from './table.js'

export function renderPlan(r: RunResult): string {
  const out = [`DRY RUN of ${r.runbook} on context ${r.context}: nothing was changed`]
  if (r.fingerprint)
    out.push(
      `cluster ${r.fingerprint.clusterId}, leader ${r.fingerprint.leader ?? 'none'}, revision ${r.fingerprint.revision}, members ${r.fingerprint.members.join(' ')}`,
    )
  r.plan.forEach((p: PlanEntry, i) => {
    out.push(
      `${String(i + 1).padStart(3)}. ${p.step} [${p.kind}]${p.name ? ` ${p.name}` : ''}${p.targets.length ? ` → ${p.targets.join(', ')}` : ''}`,
    )
    for (const d of p.describe) out.push(`       ${d}`)
    for (const imp of p.impact ?? []) out.push(`       quorum: ${imp}`)
    if (p.check)
      out.push(
        `       now: ${p.check.ok === null ? 'not evaluated' : p.check.ok ? 'true' : 'FALSE'} (${p.check.detail})`,
      )
  })
  return out.join('\n')
}

export function renderRun(r: RunResult): string {
  const ran = r.steps.filter((s) => s.status === 'ok').length
  const skipped = r.steps.filter((s) => s.status === 'skipped').length
  const before = r.steps.filter((s) => s.status === 'completed-before').length
  return `run ${r.runId}: ${r.runbook} ${r.status} (${ran} step-targets ran${skipped ? `, ${skipped} skipped` : ''}${before ? `, ${before} completed before` : ''}); journal ${r.journal}`
}

/** Host names compressed as pdsh/dshbak print them: n1,n2,n3,n7 → n[1-3,7]; other names listed as they are. */
export function compressHosts(names: string[]): string {
  const groups = new Map<string, {width: number; nums: number[]}[]>()
  const plain: string[] = []
  for (const n of names) {
    const m = /^(.*?)(\d+)$/.exec(n)
    if (!m) {
      plain.push(n)
      continue
    }
    const list = groups.get(m[1]) ?? []
    groups.set(m[1], list)
    const width = m[2].startsWith('0') ? m[2].length : 0
    let g = list.find((x) => x.width === width)
    if (!g) list.push((g = {width, nums: []}))
    g.nums.push(Number(m[2]))
  }
  const out = [...plain]
  for (const [prefix, list] of groups) {
    for (const {width, nums} of list) {
      const sorted = [...new Set(nums)].sort((a, b) => a - b)
      const pad = (x: number) => String(x).padStart(width, '0')
      if (sorted.length === 1) {
        out.push(`${prefix}${pad(sorted[0])}`)
        continue
      }
      const ranges: string[] = []
      for (let i = 0; i < sorted.length; i++) {
        let j = i
        while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++
        ranges.push(i === j ? pad(sorted[i]) : `${pad(sorted[i])}-${pad(sorted[j])}`)
        i = j
      }
      out.push(`${prefix}[${ranges.join(',')}]`)
    }
  }
  return out.join(',')
}

function hostState(h: HostResult): 'ok' | 'failed' | 'unreachable' | 'timed out' {
  if (h.timedOut) return 'timed out'
  if (h.failure === 'connection') return 'unreachable'
  return h.exitCode === 0 && !h.error ? 'ok' : 'failed'
}

/**
 * The result of a fan-out, readable at 50 hosts: with --group, hosts with identical output share
 * one block (like `dshbak -c`); failures come first, each with its reason; then one summary line.
 */
export function renderExec(r: Omit<ExecResult, 'summary'>, group: boolean): string {
  const out: string[] = []
  const failed = r.hosts.filter((h) => hostState(h) !== 'ok')
  if (group) {
    const blocks = new Map<string, {hosts: string[]; text: string; status: string}>()
    for (const h of [...failed, ...r.hosts.filter((x) => hostState(x) === 'ok')]) {
      const status = h.error ? h.error : `exit ${h.exitCode}`
      const text = [h.stdout, h.stderr]
        .filter(Boolean)
        .map((t) => t.replace(/\n$/, ''))
        .join('\n')
      const key = `${status}\0${text}`
      const b = blocks.get(key) ?? {hosts: [], text, status}
      b.hosts.push(h.node)
      blocks.set(key, b)
    }
    for (const b of blocks.values()) {
      out.push(`── ${compressHosts(b.hosts)} (${b.hosts.length > 1 ? `${b.hosts.length} hosts, ` : ''}${b.status})`)
      if (b.text) out.push(b.text)
    }
  } else {
    for (const h of failed) out.push(`${h.node}: ${hostState(h)}: ${h.error ?? `exit ${h.exitCode}`}`)
  }
  const count = (s: string) => r.hosts.filter((h) => hostState(h) === s).length
  const parts = [
    `${count('ok')} ok`,
    `${count('failed')} failed`,
    `${count('unreachable')} unreachable`,
    `${count('timed out')} timed out`,
  ].filter((p, i) => i === 0 || !p.startsWith('0 '))
  out.push(
    `${parts.join(', ')} (of ${r.hosts.length}${failed.length > 0 ? `; not ok: ${compressHosts(failed.map((h) => h.node))}` : ''})`,
  )
  return out.join('\n')
}

/** `runbook lint`: "ok FILE", or one file:line:col line per problem (as a compiler). */
export function renderLint(result: LintResult): string {
  return result.files
    .flatMap((f) => [
      ...(f.problems.length === 0 ? [`ok    ${f.file}`] : []),
      ...f.problems.map(
        (p) => `${p.file}:${p.line}:${p.column}: ${p.severity}: ${p.path ? `${p.path}: ` : ''}${p.message}`,
      ),
    ])
    .join('\n')
}

/** `runbook list`: one row per runbook with whether it lints. */
export function renderRunbookList(runbooks: ListedRunbook[]): string {
  const lint = (r: ListedRunbook) =>
    r.lintErrors === 0 ? 'ok' : `FAILS (${r.lintErrors} error${r.lintErrors > 1 ? 's' : ''})`
  return renderTable(
    ['NAME', 'PARAMS', 'LINT', 'DESCRIPTION'],
    runbooks.map((r) => [r.name, r.params.join(',') || '-', lint(r), r.description]),
  )
}

/** `runbook log`: the run's header line, then one line per journal event. */
export function renderRunLog(log: RunLog): string {
  return [
    `run ${log.runId}: ${log.runbook} on ${log.context} by ${log.by}: ${log.status} (${log.startedAt} → ${log.endedAt ?? '…'})`,
    ...log.events.map(
      (e) =>
        `${e.ts}  ${e.status.padEnd(8)} ${e.step}${e.target ? ` @ ${e.target}` : ''}${e.exitCode === null ? '' : ` exit ${e.exitCode}`}${e.error ? `: ${e.error}` : e.detail ? `: ${e.detail}` : ''}`,
    ),
  ].join('\n')
}
