import {formatDuration} from '../config/duration.js'
import type {TokenInfo} from '../services/auth/index.js'
import type {FlaredbHealth} from '../services/flaredb/index.js'
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
  return [
    head,
    renderTable(['MEMBER', 'REMOTE', 'UP', 'CONNECTED', 'ROLE', 'SID', 'INDEX', 'LATENCY', 'ERROR'], rows),
  ].join('\n')
}

export function renderPrismnet(r: {status: string; details: PrismnetHealth; findings: Finding[]}): string {
  const parts = [r.details.nb, r.details.sb].filter((c): c is OvsdbClusterHealth => c !== null).map(renderOvsdbCluster)
  return [
    `${paintStatus(r.status)}  PrismNet (OVN databases)`,
    '',
    parts.join('\n\n'),
    ...renderFindings(r.findings),
  ].join('\n')
}

export function renderFlaredb(r: {status: string; details: FlaredbHealth; findings: Finding[]}): string {
  const d = r.details
  const stores = renderTable(
    ['STORE', 'NODE', 'ADDRESS', 'STATE', 'HEALTH', 'HEARTBEAT', 'LIVE'],
    d.stores.map((s) => [
      s.id,
      dash(s.node),
      s.address,
      s.state === 'up' ? s.state : paintStatus('warn', s.state),
      s.health === 'SERVING'
        ? paintStatus('ok', s.health)
        : s.health === 'NOT_PROBED'
          ? '-'
          : paintStatus('crit', s.health),
      s.heartbeatAgeMs === null
        ? '-'
        : s.stale
          ? paintStatus('warn', `${formatDuration(s.heartbeatAgeMs)} ago STALE`)
          : `${formatDuration(s.heartbeatAgeMs)} ago`,
      s.live ? paintStatus('ok', 'yes') : paintStatus('crit', 'no'),
    ]),
  )
  const regions = renderTable(
    ['REGION', 'REPLICAS', 'LIVE', 'STATUS'],
    d.regions.map((x) => [
      x.id,
      x.replicas.join(','),
      `${x.liveReplicas.length}/${x.replicas.length}`,
      paintStatus(x.status),
    ]),
  )
  const invalid =
    d.invalid.length > 0
      ? [
          '',
          renderTable(
            ['INVALID RECORD', 'PROBLEM'],
            d.invalid.map((i) => [i.key, i.error]),
          ),
        ]
      : []
  return [
    `${paintStatus(r.status)}  FlareDB: heartbeat every ${formatDuration(d.heartbeatIntervalMs)}, stale after ${formatDuration(d.staleAfterMs)}`,
    '',
    stores,
    '',
    regions,
    ...invalid,
    ...renderFindings(r.findings),
  ].join('\n')
}

export function renderAuthStatus(r: {status: string; token: TokenInfo; findings: Finding[]}): string {
  const t = r.token
  const rows: [string, string][] = [
    ['source', t.source],
    [
      'format',
      t.jwt ? `JWT (${dash(t.algorithm)}, kid ${dash(t.keyId)}), decoded without verification` : 'opaque (not a JWT)',
    ],
    ['subject', dash(t.subject)],
    ['issuer', dash(t.issuer)],
    ['audience', Array.isArray(t.audience) ? t.audience.join(', ') : dash(t.audience)],
    ['issued', dash(t.issuedAt)],
    [
      'expires',
      t.expiresAt
        ? `${t.expiresAt} (${t.expired ? paintStatus('crit', 'EXPIRED') : `in ${formatDuration(t.expiresInMs ?? 0)}`})`
        : '-',
    ],
  ]
  return [
    `${paintStatus(r.status)}  IAM credentials`,
    '',
    ...rows.map(([k, v]) => `${k.padEnd(9)} ${v}`),
    ...renderFindings(r.findings),
  ].join('\n')
}
