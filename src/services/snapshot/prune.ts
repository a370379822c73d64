import type {Context} from '../../config/schema.js'
import {UsageError} from '../../errors.js'
import type {Reporter} from '../reporter.js'
import {catalog, type CatalogEntry, type CatalogOptions, withTargets} from './catalog.js'
import {DB_SUFFIX, MANIFEST_SUFFIX} from './manifest.js'
import {compareText} from '../../core/compare.js'

export interface Retention {
  keepLast: number
  hourly: number
  daily: number
  weekly: number
  monthly: number
}

export const DEFAULT_RETENTION: Retention = {keepLast: 5, hourly: 24, daily: 7, weekly: 4, monthly: 12}

export function retentionFor(ctx: Context, overrides: Partial<Retention> = {}): Retention {
  const r = ctx.snapshots?.retention ?? {}
  const merged = {
    keepLast: overrides.keepLast ?? r['keep-last'] ?? DEFAULT_RETENTION.keepLast,
    hourly: overrides.hourly ?? r.hourly ?? DEFAULT_RETENTION.hourly,
    daily: overrides.daily ?? r.daily ?? DEFAULT_RETENTION.daily,
    weekly: overrides.weekly ?? r.weekly ?? DEFAULT_RETENTION.weekly,
    monthly: overrides.monthly ?? r.monthly ?? DEFAULT_RETENTION.monthly,
  }
  if (merged.keepLast < 1) throw new UsageError('retention keep-last must be at least 1')
  return merged
}

function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()))
  const day = t.getUTCDay() || 7
  t.setUTCDate(t.getUTCDate() + 4 - day)
  const yearStart = new Date(Date.UTC(t.getUTCFullYear(), 0, 1))
  const week = Math.ceil(((t.getTime() - yearStart.getTime()) / 86_400_000 + 1) / 7)
  return `${t.getUTCFullYear()}-W${String(week).padStart(2, '0')}`
}

const BUCKETS: [keyof Omit<Retention, 'keepLast'>, (d: Date) => string][] = [
  ['hourly', (d) => d.toISOString().slice(0, 13)],
  ['daily', (d) => d.toISOString().slice(0, 10)],
  ['weekly', isoWeek],
  ['monthly', (d) => d.toISOString().slice(0, 7)],
]

export interface PruneDecision {
  id: string
  target: string
  createdAt: string
  keep: boolean
  reasons: string[]
}

/**
 * Grandfather-father-son retention over one target's catalog. Complete snapshots are kept by
 * keep-last and by the newest one in each hourly/daily/weekly/monthly bucket; the newest complete
 * snapshot is always kept; a snapshot whose manifest cannot be read is kept unless force is set.
 */
export function planRetention(entries: CatalogEntry[], r: Retention, force = false): PruneDecision[] {
  const sorted = [...entries].sort((a, b) => compareText(b.createdAt, a.createdAt))
  const complete = sorted.filter((e) => e.complete)
  const reasons = new Map<string, string[]>(sorted.map((e) => [e.id, []]))
  complete.slice(0, r.keepLast).forEach((e, i) => reasons.get(e.id)!.push(`keep-last ${i + 1}/${r.keepLast}`))
  for (const [bucket, keyOf] of BUCKETS) {
    const limit = r[bucket]
    const seen = new Set<string>()
    for (const e of complete) {
      if (seen.size >= limit) break
      const k = keyOf(new Date(e.createdAt))
      if (seen.has(k)) continue
      seen.add(k)
      reasons.get(e.id)!.push(`${bucket} ${k}`)
    }
  }
  if (complete[0]) reasons.get(complete[0].id)!.push('newest complete snapshot (never deleted)')
  return sorted.map((e) => {
    const why = reasons.get(e.id)!
    if (!e.complete && !force) why.push(`${e.state}: kept until --force (${e.error ?? 'unreadable'})`)
    return {
      id: e.id,
      target: e.target,
      createdAt: e.createdAt,
      keep: why.length > 0,
      reasons: why.length > 0 ? why : [e.complete ? 'outside retention' : `${e.state}, --force`],
    }
  })
}

export interface PruneResult {
  dryRun: boolean
  retention: Retention
  decisions: PruneDecision[]
  deleted: string[]
  errors: {id: string; error: string}[]
}

export async function pruneSnapshots(
  opts: CatalogOptions & {dryRun: boolean; force: boolean; retention: Retention; reporter: Reporter},
): Promise<PruneResult> {
  return withTargets(opts, async (targets) => {
    const result: PruneResult = {dryRun: opts.dryRun, retention: opts.retention, decisions: [], deleted: [], errors: []}
    for (const t of targets) {
      const decisions = planRetention(await catalog(t), opts.retention, opts.force)
      result.decisions.push(...decisions)
      if (opts.dryRun) continue
      for (const d of decisions.filter((x) => !x.keep)) {
        try {
          // Manifest first: a half-deleted snapshot then shows as incomplete, never as complete.
          await t.remove(d.id + MANIFEST_SUFFIX)
          await t.remove(d.id + DB_SUFFIX)
          result.deleted.push(`${t.url}/${d.id}`)
          opts.reporter.debug(`deleted ${t.url}/${d.id}`)
        } catch (error) {
          result.errors.push({id: d.id, error: (error as Error).message})
        }
      }
    }
    return result
  })
}
