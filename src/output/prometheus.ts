import type {HealthReport} from '../services/health/index.js'
import type {ChainfireHealth} from '../services/health/probes/chainfire.js'

const STATUS_VALUE = {ok: 0, warn: 1, crit: 2, unknown: 3, skipped: -1} as const

function esc(v: string): string {
  return v.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('"', '\\"')
}

function labels(l: Record<string, string>): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`)
  return parts.length > 0 ? `{${parts.join(',')}}` : ''
}

/**
 * Prometheus text exposition (node_exporter textfile collector format). Each metric family is
 * written once, together: its HELP, its TYPE, then all its samples, in the order families were
 * first seen — strict parsers (the Python client, promtool) type a family that reappears later as
 * `unknown`.
 */
export class MetricWriter {
  private readonly families = new Map<string, string[]>()

  metric(
    name: string,
    help: string,
    value: number | boolean | null,
    l: Record<string, string> = {},
    type = 'gauge',
  ): void {
    if (value === null) return
    let lines = this.families.get(name)
    if (!lines) {
      lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`]
      this.families.set(name, lines)
    }
    lines.push(`${name}${labels(l)} ${typeof value === 'boolean' ? (value ? 1 : 0) : value}`)
  }

  toString(): string {
    return [...this.families.values()].flat().join('\n') + '\n'
  }
}

export function renderHealthPrometheus(r: HealthReport): string {
  const w = new MetricWriter()
  const ctx = {context: r.context}
  w.metric(
    'plasmactl_health_status',
    'Overall health: 0 ok, 1 warn, 2 crit, 3 unknown (could not check)',
    STATUS_VALUE[r.status],
    ctx,
  )
  w.metric(
    'plasmactl_health_check_timestamp_seconds',
    'When the check ran',
    Math.floor(Date.parse(r.checkedAt) / 1000),
    ctx,
  )
  w.metric('plasmactl_health_check_duration_seconds', 'How long the check took', r.durationMs / 1000, ctx)
  for (const c of r.components) {
    w.metric(
      'plasmactl_component_status',
      'Component health: 0 ok, 1 warn, 2 crit, 3 unknown (could not check), -1 skipped',
      STATUS_VALUE[c.status],
      {...ctx, component: c.component},
    )
  }
  const cf = r.components.find((c) => c.component === 'chainfire' && c.details)?.details as ChainfireHealth | undefined
  if (cf) {
    w.metric('plasmactl_chainfire_quorum', '1 if a majority of voters is healthy and a leader exists', cf.quorum, ctx)
    w.metric('plasmactl_chainfire_has_leader', '1 if the cluster has a leader', cf.leader !== null, ctx)
    w.metric(
      'plasmactl_chainfire_failure_tolerance',
      'How many more voters can fail before quorum is lost',
      cf.failureTolerance,
      ctx,
    )
    w.metric('plasmactl_chainfire_voters', 'Voting members', cf.voters, ctx)
    w.metric('plasmactl_chainfire_voters_healthy', 'Healthy voting members', cf.votersHealthy, ctx)
    w.metric(
      'plasmactl_chainfire_cluster_id_agrees',
      '1 if every member reports the same cluster id',
      cf.clusterIdAgrees,
      ctx,
    )
    w.metric('plasmactl_chainfire_revision', 'Key-value store revision seen by the leader', cf.revision, ctx)
    for (const m of cf.members) {
      const l = {...ctx, member: m.name}
      w.metric('plasmactl_chainfire_member_up', '1 if the member answers its status call', m.reachable, l)
      w.metric(
        'plasmactl_chainfire_member_healthy',
        '1 if a linearizable read through the member succeeds',
        m.healthy,
        l,
      )
      w.metric('plasmactl_chainfire_member_is_leader', '1 for the leader', m.leader, l)
      w.metric('plasmactl_chainfire_member_is_learner', '1 for a learner (non-voting) member', m.learner, l)
      w.metric('plasmactl_chainfire_member_raft_term', 'Raft term', m.raftTerm, l)
      w.metric('plasmactl_chainfire_member_raft_index', 'Raft committed index', m.raftIndex, l)
      w.metric('plasmactl_chainfire_member_raft_applied_index', 'Raft applied index', m.appliedIndex, l)
      w.metric('plasmactl_chainfire_member_lag_entries', 'Raft entries behind the leader', m.lag, l)
      w.metric('plasmactl_chainfire_member_db_size_bytes', 'Backend database size', m.dbSize, l)
      for (const a of m.alarms)
        w.metric('plasmactl_chainfire_member_alarm', 'Active alarm on the member', 1, {...l, alarm: a})
    }
  }
  return w.toString()
}
