import {formatDuration} from '../config/duration.js'
import type {Listing, PruneResult, ScheduledSaveResult, VerifyResult} from '../services/snapshot/index.js'
import type {InspectResult} from '../services/snapshot/inspect.js'
import type {RenderedFile} from '../services/snapshot/schedule.js'
import {dash, formatBytes, paintStatus, renderTable} from './table.js'

/* The human forms of the snapshot commands (pure: they return text). */

export function renderSnapshotList(listing: Listing, now = Date.now()): string {
  return renderTable(
    ['NAME', 'AGE', 'SIZE', 'REVISION', 'KEYS', 'CLUSTER', 'SOURCE', 'STATE', 'TARGET'],
    listing.snapshots.map((s) => [
      s.id,
      formatDuration(now - Date.parse(s.createdAt)),
      formatBytes(s.size),
      dash(s.revision),
      dash(s.manifest?.keyCount),
      dash(s.manifest?.clusterId),
      dash(s.manifest?.sourceMember),
      s.complete
        ? paintStatus('ok', s.checked === 'hash' ? 'verified' : 'size ok')
        : paintStatus(s.state === 'corrupt' ? 'crit' : 'warn', s.state),
      s.target,
    ]),
  )
}

export function renderSnapshotInspect(r: InspectResult): string {
  const m = r.verify.manifest
  const rows: [string, unknown][] = [
    ['name', r.verify.id],
    ['source', r.verify.source],
    ['size', `${formatBytes(r.verify.digest.size)} (${r.verify.digest.size} bytes)`],
    ['revision', r.revision],
    ['keys', r.keyCount === null ? null : `${r.keyCount}: ${r.keysCountedText}`],
    ['cluster id', m?.clusterId],
    ['from member', m?.sourceMember],
    ['created', m?.createdAt],
    ['sha256', r.verify.digest.sha256],
    ['db sha256', r.verify.digest.dbSha256],
    ['trailer', r.verify.digest.trailerOk ? 'ok' : 'MISMATCH'],
    [
      'verified',
      r.verify.ok
        ? 'yes'
        : `NO (${r.verify.checks
            .filter((c) => !c.ok)
            .map((c) => c.check)
            .join(', ')})`,
    ],
    ['details from', r.detailsFrom],
  ]
  return rows.map(([k, v]) => `${k.padEnd(12)} ${dash(v)}`).join('\n')
}

export function renderSnapshotVerify(result: VerifyResult): string {
  return [
    `${result.ok ? paintStatus('ok', 'OK') : paintStatus('crit', 'BAD')}  ${result.id} (${result.source}), ${result.digest.size} bytes, sha256 ${result.digest.sha256}`,
    ...result.checks.map(
      (c) => `  ${c.ok ? paintStatus('ok', 'ok  ') : paintStatus('crit', 'FAIL')} ${c.check}: ${c.detail}`,
    ),
  ].join('\n')
}

export function renderPrune(r: PruneResult): string {
  return renderTable(
    ['NAME', 'CREATED', 'DECISION', 'WHY'],
    r.decisions.map((d) => [
      d.id,
      d.createdAt,
      d.keep ? paintStatus('ok', 'keep') : paintStatus('warn', r.dryRun ? 'would delete' : 'deleted'),
      d.reasons.join('; '),
    ]),
  )
}

export function renderSave(result: ScheduledSaveResult): string {
  if (result.slot?.alreadyTaken)
    return `already taken for this slot (${result.slot.id}): ${result.name} by ${result.slot.by}`
  return [
    `${result.name}  ${formatBytes(result.manifest.size)}  revision ${result.manifest.revision}  keys ${result.manifest.keyCount ?? '?'}  from ${result.manifest.sourceMember}`,
    ...result.targets.map((t) => `  ${t.ok ? 'ok    ' : 'FAILED'} ${t.target}${t.error ? `: ${t.error}` : ''}`),
    ...(result.prune ? [`  pruned ${result.prune.deleted.length} old snapshot(s)`] : []),
  ].join('\n')
}

/** `snapshot schedule show` prints the units; `install` says what it wrote and how to enable it. */
export function renderScheduleFiles(r: {installed: boolean; files: RenderedFile[]}): string {
  if (!r.installed) return r.files.map((f) => `# ${f.path}\n${f.content}`).join('\n')
  return [
    ...r.files.map((f) => `wrote ${f.path}`),
    `enable with: systemctl daemon-reload && systemctl enable --now ${r.files[1].path.split('/').pop()}`,
  ].join('\n')
}
