import type {HealthReport} from '../services/health/index.js'
import {type ChainfireHealth, memberRole} from '../services/health/probes/chainfire.js'
import {dash, formatBytes, NARROW_WIDTH, paint, paintStatus, pickColumns, renderTable, type TableView} from './table.js'

const MEMBER_NARROW = ['MEMBER', 'UP', 'HEALTHY', 'ROLE', 'TERM', 'LAG', 'DB SIZE', 'ALARMS']

export function renderChainfireMembers(d: ChainfireHealth, view: TableView = {}): string {
  const headers = [
    'MEMBER',
    'ID',
    'ENDPOINT',
    'UP',
    'HEALTHY',
    'ROLE',
    'TERM',
    'INDEX',
    'APPLIED',
    'LAG',
    'DB SIZE',
    'VERSION',
    'ALARMS',
  ]
  const rows = d.members.map((m) => [
    m.name,
    dash(m.id),
    dash(m.endpoint),
    m.reachable ? paintStatus('ok', 'yes') : paintStatus('crit', 'DOWN'),
    m.healthy ? paintStatus('ok', 'yes') : paintStatus(m.reachable ? 'warn' : 'crit', 'no'),
    m.leader ? paint('bold', 'leader') : memberRole(m),
    dash(m.raftTerm),
    dash(m.raftIndex),
    dash(m.appliedIndex),
    dash(m.lag),
    formatBytes(m.dbSize),
    dash(m.version),
    m.alarms.length > 0 ? paintStatus('crit', m.alarms.join(',')) : '-',
  ])
  const t = pickColumns(headers, rows, MEMBER_NARROW, Boolean(view.wide))
  return renderTable(t.headers, t.rows, {maxWidth: view.wide ? undefined : NARROW_WIDTH})
}

/** The human view: verdict first, then the component summaries, the member table and every problem. */
export function renderHealth(r: HealthReport, view: TableView = {}): string {
  const out: string[] = []
  out.push(
    `${paintStatus(r.status)}  context ${r.context} (${r.environment}), checked ${r.checkedAt} in ${r.durationMs} ms`,
  )
  out.push('')
  out.push(
    renderTable(
      ['COMPONENT', 'STATUS', 'SUMMARY'],
      r.components.map((c) => [c.component, paintStatus(c.status), c.summary]),
      {maxWidth: view.wide ? undefined : NARROW_WIDTH},
    ),
  )
  const cf = r.components.find((c) => c.component === 'chainfire' && c.details)?.details as ChainfireHealth | undefined
  if (cf) {
    out.push('')
    out.push(
      `ChainFire: leader ${cf.leader ?? paintStatus('crit', 'NONE')}  quorum ${cf.quorum ? paintStatus('ok', 'yes') : paintStatus('crit', 'NO')}` +
        ` (${cf.votersHealthy}/${cf.voters} healthy, ${cf.quorumSize} needed)  failure tolerance ${cf.failureTolerance}`,
      `           cluster ${dash(cf.clusterId)}  revision ${dash(cf.revision)}`,
    )
    out.push(renderChainfireMembers(cf, view))
  }
  if (r.problems.length > 0) {
    out.push('')
    out.push('Problems:')
    for (const p of r.problems) {
      out.push(`  ${paintStatus(p.status)}  ${p.message}`)
      for (const f of p.fix?.split('\n') ?? []) out.push(`      → ${f}`)
    }
  }
  return out.join('\n')
}

/**
 * The events under the `health --watch` table: the last LIMIT changes with their time, kept across
 * refreshes so a blip is not lost when the next table is drawn.
 */
export function watchEvents(limit = 10): (checkedAt: string, changes: string[]) => string {
  const events: string[] = []
  return (checkedAt, changes) => {
    events.push(...changes.map((c) => `${checkedAt} ${c}`))
    events.splice(0, Math.max(0, events.length - limit))
    return events.length > 0 ? `\n\nEvents:\n  ${events.join('\n  ')}` : ''
  }
}
