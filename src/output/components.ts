import type {Finding} from '../services/health/types.js'
import type {OvsdbClusterHealth, PrismnetHealth} from '../services/prismnet/index.js'
import {dash, paint, paintStatus, renderTable} from './table.js'

/** Human views of the per-component status commands (prismnet, flaredb, auth). */

function renderFindings(findings: Finding[]): string[] {
  const bad = findings.filter((f) => f.status !== 'ok')
  return bad.length === 0 ? [] : ['', 'Problems:', ...bad.map((f) => `  ${paintStatus(f.status)}  ${f.message}`)]
}

function renderOvsdbCluster(c: OvsdbClusterHealth): string {
  const head = `${c.db} (${dash(c.model)}): cluster ${dash(c.clusterId)}  leader ${c.leader ?? paintStatus('crit', 'NONE')}  ${c.connected}/${c.members.length} connected  quorum ${c.quorum ? paintStatus('ok', 'yes') : paintStatus('crit', 'NO')}`
  const rows = c.members.map((m) => [
    m.name,
    m.remote,
    m.reachable ? paintStatus('ok', 'yes') : paintStatus('crit', 'DOWN'),
    m.reachable ? (m.connected ? paintStatus('ok', 'yes') : paintStatus('warn', 'no')) : '-',
    m.leader ? paint('bold', 'leader') : m.reachable ? 'follower' : '-',
    m.sid ? m.sid.slice(0, 8) : '-',
    dash(m.index),
    m.latencyMs === null ? '-' : `${m.latencyMs} ms`,
    dash(m.error),
  ])
  return [head, renderTable(['MEMBER', 'REMOTE', 'UP', 'CONNECTED', 'ROLE', 'SID', 'INDEX', 'LATENCY', 'ERROR'], rows)].join('\n')
}

export function renderPrismnet(r: {status: string; details: PrismnetHealth; findings: Finding[]}): string {
  const parts = [r.details.nb, r.details.sb].filter((c): c is OvsdbClusterHealth => c !== null).map(renderOvsdbCluster)
  return [`${paintStatus(r.status)}  PrismNet (OVN databases)`, '', parts.join('\n\n'), ...renderFindings(r.findings)].join('\n')
}
