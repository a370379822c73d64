import {UsageError} from '../errors.js'

const UNITS: Record<string, number> = {ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000}

/** The one duration grammar: "500ms", "5s", "2m30s", "1h", "7d", "1w" or a plain number of milliseconds (config, runbooks, flags). */
export const DURATION_PATTERN = /^(\d+(\.\d+)?(ms|s|m|h|d|w))+$|^\d+$/

/** Parses "500ms", "5s", "2m30s", "1h", "7d" or a plain number of milliseconds. */
export function parseDuration(value: string | number, what = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0)
      throw new UsageError(`invalid ${what} ${value}: must be a non-negative number of milliseconds`)
    return value
  }
  const text = value.trim()
  if (/^\d+$/.test(text) && Number.isFinite(Number(text))) return Number(text)
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g
  let total = 0
  let consumed = 0
  for (const m of text.matchAll(re)) {
    if (m.index !== consumed) break
    total += Number(m[1]) * UNITS[m[2]]
    consumed += m[0].length
  }
  if (consumed === 0 || consumed !== text.length) {
    throw new UsageError(`invalid ${what} "${value}": use forms like 500ms, 5s, 2m30s, 1h, 7d`)
  }
  if (!Number.isFinite(total)) throw new UsageError(`invalid ${what} "${value}": too large`)
  return total
}

/** The longest timeout, wait or interval a flag accepts. */
export const MAX_FLAG_DURATION_MS = 24 * 3_600_000

/**
 * A duration given as a flag (--timeout, --wait, --interval): more than 0 (0 only with allowZero)
 * and at most 24h, so that a typo can neither spin nor hang.
 */
export function parseTimeout(value: string, what: string, {allowZero = false} = {}): number {
  const ms = parseDuration(value, what)
  if (ms === 0 && !allowZero) throw new UsageError(`invalid ${what} "${value}": must be more than 0`)
  if (!(ms <= MAX_FLAG_DURATION_MS)) throw new UsageError(`invalid ${what} "${value}": at most 24h`)
  return ms
}

/** Short human form: 850ms, 1.5s, 12s, 2m30s, 1h5m, 2d3h. Rounds first so no unit ever shows 60. */
export function formatDuration(ms: number): string {
  if (ms < 999.5) return `${Math.round(ms)}ms`
  if (ms < 9950) return `${(ms / 1000).toFixed(1)}s`
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`
  const m = Math.round(ms / 60_000)
  if (m < 1440) return `${Math.floor(m / 60)}h${m % 60}m`
  const h = Math.round(ms / 3_600_000)
  return `${Math.floor(h / 24)}d${h % 24}h`
}
