import {readdir} from 'node:fs/promises'
import {join} from 'node:path'
import {UsageError} from '../../errors.js'
import {Journal, type JournalEvent} from './journal.js'
import {compareText} from '../compare.js'

/**
 * Every kind of journaled run and where its journals live under the state dir. One journal format
 * (core/engine/journal.ts) for all of them; the begin event names who started the run (`by`).
 */
export const RUN_KINDS = {runbook: 'runbooks', node: 'node-runs', restore: 'restores', drill: 'drills'} as const
export type RunKind = keyof typeof RUN_KINDS

export type RunState = 'succeeded' | 'failed' | 'aborted' | 'interrupted' | 'running'

export interface RunSummary {
  id: string
  kind: RunKind
  context: string
  /** user@host that started the run. */
  operator: string
  started: string
  ended: string | null
  state: RunState
  /** What the run does: the runbook, "remove n2", the snapshot restored, the drill. */
  what: string
  journal: string
}

export interface TranscriptEntry {
  ts: string
  /** begin, ok, skipped, failed, in-flight (started, never finished), abort, resume, override, end. */
  event: 'begin' | 'ok' | 'skipped' | 'failed' | 'in-flight' | 'abort' | 'resume' | 'override' | 'end' | 'note'
  step?: string
  target?: string
  /** Who (user@host) for begin, abort, resume and override. */
  by?: string
  /** Attempts of a step that was retried. */
  attempts?: number
  detail?: string
}

export interface RunTranscript extends RunSummary {
  entries: TranscriptEntry[]
}

function findLast(events: readonly JournalEvent[], pred: (e: JournalEvent) => unknown): JournalEvent | undefined {
  for (let i = events.length - 1; i >= 0; i--) if (pred(events[i])) return events[i]
  return undefined
}

export function runsDir(stateDir: string, kind: RunKind): string {
  return join(stateDir, RUN_KINDS[kind])
}

function kindOf(b: Record<string, unknown>, dirKind: RunKind): RunKind {
  const k = b.kind
  return typeof k === 'string' && k in RUN_KINDS ? (k as RunKind) : dirKind
}

function whatOf(kind: RunKind, b: Record<string, unknown>): string {
  if (kind === 'runbook') return String(b.name ?? b.runbook ?? '?')
  if (kind === 'node')
    return b.op === 'replace' ? `replace ${String(b.old)} with ${String(b.new)}` : `${String(b.op)} ${String(b.node)}`
  if (kind === 'restore') return `restore ${String(b.snapshot)}`
  return String(b.name ?? b.drill ?? b.scenario ?? 'drill')
}

/** A run's state from its journal alone (RUNNING is told by the caller: a live lock holder). */
export function stateOf(events: readonly JournalEvent[]): Exclude<RunState, 'running'> {
  const end = findLast(events, (e) => e.type === 'end')
  if (end) {
    const status = (end.data as {status?: string} | undefined)?.status
    return status === 'aborted' ? 'aborted' : status === 'failed' || !end.ok ? 'failed' : 'succeeded'
  }
  const last = findLast(
    events,
    (e) =>
      e.type === 'abort' ||
      e.type === 'resume' ||
      (e.type === 'step-end' && !e.ok) ||
      (e.type === 'note' && e.data?.resumed),
  )
  if (last?.type === 'abort') return 'aborted'
  if (last?.type === 'step-end') return 'failed'
  return 'interrupted'
}

function summarize(j: Journal, dirKind: RunKind): RunSummary {
  const b = (j.begin?.data ?? {}) as Record<string, unknown>
  const kind = kindOf(b, dirKind)
  return {
    id: j.id,
    kind,
    context: String(b.context ?? '?'),
    operator: String(b.by ?? '?'),
    started: j.begin?.ts ?? '',
    ended: findLast(j.all, (e) => e.type === 'end')?.ts ?? null,
    state: stateOf(j.all),
    what: whatOf(kind, b),
    journal: j.path,
  }
}

/** Every journaled run of every kind under STATE_DIR, oldest first (unreadable journals are skipped). */
export async function listRunJournals(stateDir: string): Promise<RunSummary[]> {
  const out: RunSummary[] = []
  for (const kind of Object.keys(RUN_KINDS) as RunKind[]) {
    const dir = runsDir(stateDir, kind)
    const files = await readdir(dir).catch(() => [] as string[])
    for (const f of files.filter((x) => x.endsWith('.jsonl'))) {
      const j = await Journal.open(dir, f.slice(0, -'.jsonl'.length)).catch(() => undefined)
      if (j?.begin) out.push(summarize(j, kind))
    }
  }
  return out.sort((a, b) => compareText(a.started, b.started) || compareText(a.id, b.id))
}

/** Finds run ID in whichever kind's directory holds it. */
export async function openRun(stateDir: string, id: string): Promise<{kind: RunKind; journal: Journal}> {
  if (!/^[\w.-]+$/.test(id)) throw new UsageError(`invalid run id "${id}"`)
  for (const kind of Object.keys(RUN_KINDS) as RunKind[]) {
    const j = await Journal.open(runsDir(stateDir, kind), id).catch(() => undefined)
    if (j) return {kind: kindOf((j.begin?.data ?? {}) as Record<string, unknown>, kind), journal: j}
  }
  throw new UsageError(`no run "${id}" in ${stateDir} (${Object.values(RUN_KINDS).join(', ')})`, {
    hint: 'see `plasmactl runs list`',
  })
}

const keyOf = (e: JournalEvent) => (e.target ? `${e.step}@${e.target}` : (e.step ?? ''))

/** The transcript of a run: every step's outcome, retries, failures, aborts, resumes and overrides, with who and when. */
export function transcriptOf(j: Journal, dirKind: RunKind): RunTranscript {
  const entries: TranscriptEntry[] = []
  const open = new Map<string, JournalEvent>()
  const flushInFlight = () => {
    for (const s of open.values())
      entries.push({ts: s.ts, event: 'in-flight', step: s.step, target: s.target, detail: 'started, never finished'})
    open.clear()
  }
  for (const e of j.all) {
    const d = (e.data ?? {}) as Record<string, unknown>
    const by = typeof d.by === 'string' ? d.by : undefined
    switch (e.type) {
      case 'begin':
        entries.push({ts: e.ts, event: 'begin', by, detail: whatOf(kindOf(d, dirKind), d)})
        break
      case 'step-start':
        open.set(keyOf(e), e)
        break
      case 'step-end': {
        open.delete(keyOf(e))
        const attempts = typeof d.attempts === 'number' && d.attempts > 1 ? d.attempts : undefined
        const event = !e.ok ? 'failed' : d.status === 'skipped' ? 'skipped' : 'ok'
        const detail = e.ok
          ? typeof d.detail === 'string'
            ? d.detail
            : typeof d.reason === 'string'
              ? `(${d.reason})`
              : undefined
          : `${e.failure ? `${e.failure} failure: ` : ''}${e.error ?? ''}${e.exitCode === undefined || e.exitCode === null ? '' : ` (exit ${e.exitCode})`}`
        entries.push({ts: e.ts, event, step: e.step, target: e.target, attempts, detail: detail || undefined})
        break
      }
      case 'abort':
        flushInFlight()
        entries.push({
          ts: e.ts,
          event: 'abort',
          step: e.step,
          by,
          detail: `${String(d.reason ?? '')}${d.state ? `: ${String(d.state)}` : ''}`,
        })
        break
      case 'resume':
        flushInFlight()
        entries.push({
          ts: e.ts,
          event: 'resume',
          by,
          detail: Array.isArray(d.force) && d.force.length ? `with --force ${d.force.join(', --force ')}` : undefined,
        })
        break
      case 'override':
        entries.push({
          ts: e.ts,
          event: 'override',
          step: e.step,
          by,
          detail: `--force ${String(d.check)}: ${String(d.detail ?? '')}`,
        })
        break
      case 'end':
        flushInFlight()
        entries.push({ts: e.ts, event: 'end', detail: String(d.status ?? (e.ok ? 'succeeded' : 'failed'))})
        break
      default:
        if (d.resumed) {
          flushInFlight()
          entries.push({ts: e.ts, event: 'resume', by})
        } else entries.push({ts: e.ts, event: 'note', detail: JSON.stringify(d)})
    }
  }
  flushInFlight()
  return {...summarize(j, dirKind), entries}
}
