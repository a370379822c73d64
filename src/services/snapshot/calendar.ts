import {existsSync} from 'node:fs'
import {run, which} from '../../adapters/exec/index.js'
import {UsageError} from '../../errors.js'

/**
 * Schedule grammars checked the way the real tools check them: crontab(5) fields (Vixie/Debian
 * cron) and systemd.time(7) calendar events. `systemd-analyze calendar` is the judge when it is
 * installed; otherwise parseOnCalendar, which agrees with it on the test table.
 */

const CRON_SPECIALS = new Set([
  '@reboot',
  '@yearly',
  '@annually',
  '@monthly',
  '@weekly',
  '@daily',
  '@midnight',
  '@hourly',
])
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']
const CRON_FIELDS: {name: string; min: number; max: number; names?: string[]; nameBase?: number}[] = [
  {name: 'minute', min: 0, max: 59},
  {name: 'hour', min: 0, max: 23},
  {name: 'day of month', min: 1, max: 31},
  {name: 'month', min: 1, max: 12, names: MONTHS, nameBase: 1},
  {name: 'day of week', min: 0, max: 7, names: DAYS, nameBase: 0},
]

/** Throws UsageError naming the field when a crontab schedule is not valid for cron (crontab(5)). */
export function validateCron(schedule: string): string {
  const s = schedule.trim()
  if (s.startsWith('@')) {
    if (!CRON_SPECIALS.has(s.toLowerCase()))
      throw new UsageError(`--cron "${s}": unknown special schedule (one of ${[...CRON_SPECIALS].join(', ')})`)
    return s
  }
  const fields = s.split(/\s+/)
  if (fields.length !== 5)
    throw new UsageError(
      `--cron "${s}" must have 5 fields (minute hour day month weekday) or be one of ${[...CRON_SPECIALS].join(', ')}`,
    )
  fields.forEach((f, i) => checkCronField(f, CRON_FIELDS[i], s))
  return s
}

function checkCronField(field: string, spec: (typeof CRON_FIELDS)[number], whole: string): void {
  const bad = (why: string) =>
    new UsageError(
      `--cron "${whole}": ${spec.name} "${field}" ${why} (allowed ${spec.min}-${spec.max}${spec.names ? ' or names' : ''})`,
    )
  const value = (v: string): number => {
    if (/^\d+$/.test(v)) {
      const n = Number(v)
      if (n < spec.min || n > spec.max) throw bad('is out of range')
      return n
    }
    const idx = spec.names?.indexOf(v.toLowerCase()) ?? -1
    if (idx < 0) throw bad('is not a number')
    return idx + (spec.nameBase ?? 0)
  }
  for (const item of field.split(',')) {
    const m = /^([^/]+)(?:\/(\d+))?$/.exec(item)
    if (!m) throw bad('is malformed')
    const [, range, step] = m
    if (step !== undefined && Number(step) === 0) throw bad('has a step of 0')
    if (range === '*') continue
    const parts = range.split('-')
    if (parts.length > 2 || parts.some((p) => p === '')) throw bad('is malformed')
    // cron itself accepts a backwards range (it never fires); only the values are checked.
    parts.forEach(value)
    if (step !== undefined && parts.length === 1) throw bad('has a step without a range')
  }
}

const SHORTHANDS = new Set([
  'minutely',
  'hourly',
  'daily',
  'monthly',
  'weekly',
  'yearly',
  'annually',
  'quarterly',
  'semiannually',
  'semi-annually',
])
const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']
const WEEKDAY_LONG = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']

function weekday(w: string): number {
  const l = w.toLowerCase()
  const i = WEEKDAYS.indexOf(l)
  return i >= 0 ? i : WEEKDAY_LONG.indexOf(l)
}

/** One component (year, month, day, hour, minute, second) of a calendar event: `*`, lists, `a..b`, `/step`. */
function component(text: string, min: number, max: number, fraction = false): boolean {
  if (text === '*') return true
  const num = fraction ? /^\d+(\.\d{1,6})?$/ : /^\d+$/
  return text.split(',').every((item) => {
    const [range, step, ...rest] = item.split('/')
    if (rest.length > 0 || range === '' || range === '*') return false
    if (step !== undefined && (!num.test(step) || Number(step) === 0)) return false
    const ends = range.split('..')
    if (ends.length > 2 || !ends.every((e) => num.test(e))) return false
    const [lo, hi = lo] = ends.map(Number)
    return lo >= min && (fraction ? hi < max + 1 : hi <= max) && lo <= hi
  })
}

function validDate(text: string): boolean {
  // [YYYY-]MM-DD, with `~` for days counted from the end of the month.
  const m = /^(?:([^-~]+)-)?([^-~]+)([-~])([^-~]+)$/.exec(text)
  if (!m) return false
  const [, year, month, sep, day] = m
  return (
    (year === undefined || component(year, 1970, 2199)) &&
    component(month, 1, 12) &&
    component(day, 1, 31) &&
    (sep === '-' || day !== '*')
  )
}

function validTime(text: string): boolean {
  const parts = text.split(':')
  if (parts.length < 2 || parts.length > 3) return false
  const [h, m, s] = parts
  return component(h, 0, 23) && component(m, 0, 59) && (s === undefined || component(s, 0, 59, true))
}

function validWeekdays(text: string): boolean {
  return text.split(',').every((item) => {
    const ends = item.split('..')
    if (ends.length > 2) return false
    const idx = ends.map(weekday)
    return idx.every((i) => i >= 0) && (idx.length === 1 || idx[0] <= idx[1])
  })
}

/** A systemd.time(7) calendar event, checked without systemd (the subset plasmactl documents). */
export function parseOnCalendar(expr: string): boolean {
  const words = expr.trim().split(/\s+/).filter(Boolean)
  if (words.length === 0) return false
  if (words.length === 1 && SHORTHANDS.has(words[0].toLowerCase())) return true
  if (
    words.length > 1 &&
    (words.at(-1) === 'UTC' || existsSync(`/usr/share/zoneinfo/${words.at(-1)}`)) &&
    /^[A-Za-z]/.test(words.at(-1)!)
  )
    words.pop()
  let i = 0
  if (i < words.length && /^[A-Za-z]/.test(words[i])) {
    if (!validWeekdays(words[i])) return false
    i++
  }
  let sawDate = false
  let sawTime = false
  if (i < words.length && !words[i].includes(':')) {
    if (!validDate(words[i])) return false
    sawDate = true
    i++
  }
  if (i < words.length) {
    if (!validTime(words[i])) return false
    sawTime = true
    i++
  }
  return i === words.length && i > 0 && (sawDate || sawTime || i === 1)
}

/** Throws UsageError unless systemd (or, without it, parseOnCalendar) accepts the OnCalendar expression. */
export async function validateOnCalendar(expr: string): Promise<string> {
  const analyze = await which('systemd-analyze')
  let ok: boolean
  let why = ''
  if (analyze) {
    const r = await run(analyze, ['calendar', expr], {timeoutMs: 10_000})
    ok = r.exitCode === 0
    why = r.stderr.trim().split('\n')[0] ?? ''
  } else ok = parseOnCalendar(expr)
  if (!ok)
    throw new UsageError(
      `--on-calendar "${expr}" is not a valid systemd calendar event${why ? ` (${why})` : ''}; see systemd.time(7), e.g. "hourly" or "*-*-* *:00/15:00"`,
    )
  return expr
}
