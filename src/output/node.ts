import type {NodeAddResult, AddPlan} from '../services/node/add.js'
import type {NodeListResult} from '../services/node/list.js'
import type {NodeRemoveResult, RemovePlan} from '../services/node/remove.js'
import {NARROW_WIDTH, pickColumns, renderTable as table, type TableView} from './table.js'

/** The removal plan as the operator reads it before confirming: summary, checks, ordered steps. */
export function renderRemovePlan(p: RemovePlan): string {
  const lines = [p.summary]
  for (const c of p.checks)
    lines.push(
      `  ${c.level === 'refuse' ? (c.overridden ? 'OVERRIDDEN' : 'REFUSED') : c.level === 'warn' ? 'warning' : 'note'}: ${c.message}`,
    )
  p.steps.forEach((s, i) => lines.push(`  ${String(i + 1).padStart(2)}. ${s.describe}`))
  return lines.join('\n')
}

export function renderAddPlan(p: AddPlan): string {
  const lines = [p.summary]
  for (const c of p.checks)
    lines.push(
      `  ${c.level === 'refuse' ? (c.overridden ? 'OVERRIDDEN' : 'REFUSED') : c.level === 'warn' ? 'warning' : 'note'}: ${c.message}`,
    )
  p.steps.forEach((s, i) => lines.push(`  ${String(i + 1).padStart(2)}. ${s.describe}`))
  return lines.join('\n')
}

export function renderRemoveResult(r: NodeRemoveResult): string {
  if (r.dryRun) return `dry run: nothing changed\n${renderRemovePlan(r.plan)}`
  const v = r.verified
  const data = !r.data
    ? ''
    : r.data.state === 'deleted'
      ? `data deleted (--wipe-data): ${r.plan.node}:${r.data.path}`
      : r.data.state === 'left-in-place'
        ? `data left in place: ${r.plan.node}:${r.data.path}`
        : `data kept in ${r.plan.node}:${r.data.path}`
  const todo = (r.pending ?? []).map((p) => `TODO: ${p}`)
  return [
    `removed ${r.plan.node} (run ${r.runId})${v ? `: leader ${v.leader}, ${v.votersHealthy}/${v.voters} voters healthy, failure tolerance ${v.failureTolerance}${v.stillDown ? `, still down as before: ${v.stillDown.join(', ')}` : ''}` : ''}${r.skipped.length ? `; resumed, skipped ${r.skipped.length} completed steps` : ''}`,
    data,
    ...todo,
  ]
    .filter(Boolean)
    .join('\n')
}

export function renderAddResult(r: NodeAddResult): string {
  if (r.dryRun) return `dry run: nothing changed\n${renderAddPlan(r.plan)}`
  const v = r.verified
  return `added ${r.plan.node} as a voter (run ${r.runId})${v ? `: leader ${v.leader}, ${v.votersHealthy}/${v.voters} voters healthy, failure tolerance ${v.failureTolerance}` : ''}${r.skipped.length ? `; resumed, skipped ${r.skipped.length} completed steps` : ''}`
}

const NODE_NARROW = ['NODE', 'ROLES', 'STATE', 'CF ROLE', 'LEADER', 'CF HEALTH']

export function renderNodeList(r: NodeListResult, view: TableView = {}): string {
  const rows = r.nodes.map((n) => [
    n.name,
    n.address ?? '-',
    n.roles.join(',') || '-',
    n.state,
    n.chainfire ? n.chainfire.id : '-',
    n.chainfire ? (n.chainfire.learner ? 'learner' : 'voter') : '-',
    n.chainfire?.leader ? 'leader' : n.chainfire && !n.chainfire.reachable ? 'unknown' : '',
    n.chainfire
      ? n.chainfire.healthy
        ? 'healthy'
        : `UNHEALTHY${n.chainfire.error ? ` (${n.chainfire.error})` : ''}`
      : '-',
  ])
  const c = r.cluster
  const foot = c
    ? `ChainFire: leader ${c.leader ?? 'NONE'}, ${c.votersHealthy}/${c.voters} voters healthy, failure tolerance ${c.failureTolerance}${c.learners ? `, ${c.learners} learner(s)` : ''}`
    : `ChainFire: unreachable (${r.error})`
  const t = pickColumns(
    ['NODE', 'ADDRESS', 'ROLES', 'STATE', 'MEMBER ID', 'CF ROLE', 'LEADER', 'CF HEALTH'],
    rows,
    NODE_NARROW,
    Boolean(view.wide),
  )
  return [table(t.headers, t.rows, {maxWidth: view.wide ? undefined : NARROW_WIDTH}), '', foot].join('\n')
}
