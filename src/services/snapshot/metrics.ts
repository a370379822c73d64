import {readFile} from 'node:fs/promises'
import {writeFileAtomic} from '../../core/fs.js'
import {MetricWriter} from '../../output/prometheus.js'

export interface SaveOutcome {
  context: string
  success: boolean
  durationMs: number
  bytes?: number
  revision?: number
}

function previous(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)
  return m ? Number(m[1]) : undefined
}

/**
 * Writes node_exporter textfile metrics atomically. Last success and the failure streak survive
 * across runs by reading the previous file back.
 */
export async function writeSaveMetrics(file: string, o: SaveOutcome): Promise<void> {
  const old = await readFile(file, 'utf8').catch(() => '')
  const now = Date.now() / 1000
  const lastSuccess = o.success ? now : previous(old, 'plasmactl_snapshot_last_success_timestamp_seconds')
  const failures = o.success ? 0 : (previous(old, 'plasmactl_snapshot_consecutive_failures') ?? 0) + 1
  const w = new MetricWriter()
  const l = {context: o.context}
  w.metric('plasmactl_snapshot_last_run_timestamp_seconds', 'When the last snapshot save ended', Math.floor(now), l)
  w.metric('plasmactl_snapshot_last_run_success', '1 if the last snapshot save succeeded', o.success, l)
  w.metric(
    'plasmactl_snapshot_last_success_timestamp_seconds',
    'When a snapshot save last succeeded',
    lastSuccess === undefined ? null : Math.floor(lastSuccess),
    l,
  )
  w.metric('plasmactl_snapshot_duration_seconds', 'Duration of the last snapshot save', o.durationMs / 1000, l)
  w.metric(
    'plasmactl_snapshot_size_bytes',
    'Size of the last successful snapshot',
    o.success ? (o.bytes ?? null) : (previous(old, 'plasmactl_snapshot_size_bytes') ?? null),
    l,
  )
  w.metric(
    'plasmactl_snapshot_revision',
    'ChainFire revision of the last successful snapshot',
    o.success ? (o.revision ?? null) : (previous(old, 'plasmactl_snapshot_revision') ?? null),
    l,
  )
  w.metric('plasmactl_snapshot_consecutive_failures', 'Failed saves since the last success', failures, l)
  await writeFileAtomic(file, w.toString(), 0o644)
}
