import {formatDuration, parseDuration} from '../../../config/duration.js'
import {listSnapshots} from '../../snapshot/catalog.js'
import type {Finding, Probe} from '../types.js'

export interface BackupHealth {
  rpoMs: number
  newest: {id: string; target: string; createdAt: string; ageMs: number; revision: number | null} | null
  complete: number
  incomplete: number
  targetsChecked: string[]
}

/** Backup age against the context's recovery-point objective: warn when older, crit when there is none. */
export const backupsProbe: Probe<BackupHealth> = {
  component: 'backups',
  applies: (ctx) => Boolean(ctx.snapshots),
  async run(pc) {
    const rpoMs = parseDuration(pc.ctx.snapshots?.rpo ?? '24h', 'snapshots.rpo')
    const {snapshots: entries, errors} = await listSnapshots({loaded: pc.loaded, ctx: pc.ctx})
    const complete = entries.filter((e) => e.complete)
    const n = complete[0]
    const newest = n
      ? {
          id: n.id,
          target: n.target,
          createdAt: n.createdAt,
          ageMs: Date.now() - Date.parse(n.createdAt),
          revision: n.revision,
        }
      : null
    const findings: Finding[] = []
    if (!newest)
      findings.push({
        status: 'crit',
        message: 'no complete snapshot on any target: a quorum loss could not be recovered',
        fix: 'plasmactl snapshot save',
      })
    else if (newest.ageMs > rpoMs)
      findings.push({
        status: 'warn',
        target: newest.id,
        message: `newest snapshot is ${formatDuration(newest.ageMs)} old, older than the RPO of ${formatDuration(rpoMs)}`,
        fix: 'plasmactl snapshot save',
      })
    for (const e of errors)
      findings.push({status: 'warn', target: e.target, message: `cannot list snapshot target ${e.target}: ${e.error}`})
    const incomplete = entries.length - complete.length
    if (incomplete > 0)
      findings.push({
        status: 'ok',
        message: `${incomplete} incomplete snapshot(s) kept for inspection (see snapshot list)`,
      })
    const details = {
      rpoMs,
      newest,
      complete: complete.length,
      incomplete,
      targetsChecked: [...new Set(entries.map((e) => e.target))],
    }
    return {
      summary: newest
        ? `newest ${newest.id}, ${formatDuration(newest.ageMs)} old (RPO ${formatDuration(rpoMs)}), ${complete.length} complete`
        : 'no snapshot',
      findings,
      details,
    }
  },
}
