import type {RunSummary, RunTranscript, TranscriptEntry} from '../core/engine/runs.js'
import {NARROW_WIDTH, paint, renderTable} from './table.js'

const STATE_STYLE = {
  succeeded: 'green',
  failed: 'red',
  aborted: 'yellow',
  interrupted: 'yellow',
  running: 'cyan',
} as const

function paintState(state: RunSummary['state']): string {
  return paint(STATE_STYLE[state] ?? 'reset', state)
}

/** `runs list`: one row per run of any kind. */
export function renderRunList(runs: RunSummary[], opts: {wide?: boolean} = {}): string {
  if (runs.length === 0) return 'no runs journaled yet'
  const headers = ['ID', 'KIND', 'CONTEXT', 'OPERATOR', 'STARTED', 'STATE', 'WHAT']
  const rows = runs.map((r) => [
    r.id,
    r.kind,
    r.context,
    r.operator,
    r.started.replace(/\.\d+Z$/, 'Z'),
    paintState(r.state),
    r.what,
  ])
  return renderTable(headers, rows, {maxWidth: opts.wide ? undefined : NARROW_WIDTH})
}

const LABEL: Record<TranscriptEntry['event'], string> = {
  begin: 'BEGIN',
  ok: 'ok',
  skipped: 'skipped',
  failed: 'FAILED',
  'in-flight': 'CUT',
  abort: 'ABORTED',
  resume: 'RESUMED',
  override: 'OVERRIDE',
  end: 'END',
  note: 'note',
}

const EVENT_STYLE: Partial<Record<TranscriptEntry['event'], Parameters<typeof paint>[0]>> = {
  failed: 'red',
  abort: 'yellow',
  'in-flight': 'yellow',
  override: ['magenta', 'bold'],
  resume: 'cyan',
  skipped: 'gray',
}

/** `runs show`: the transcript, one line per event; failures, aborts, resumes and overrides stand out with who and when. */
export function renderRunTranscript(t: RunTranscript & {reportDir?: string}): string {
  const out = [
    `run ${t.id} (${t.kind}): ${t.what} on ${t.context}, started by ${t.operator} at ${t.started}: ${paintState(t.state)}${t.ended ? ` (ended ${t.ended})` : ''}`,
  ]
  for (const e of t.entries) {
    const label = LABEL[e.event].padEnd(8)
    const where = e.step ? ` ${e.step}${e.target ? ` @ ${e.target}` : ''}` : ''
    const retries = e.attempts ? ` after ${e.attempts} attempts` : ''
    const by = e.by ? ` by ${e.by}` : ''
    const detail = e.detail ? `: ${e.detail}` : ''
    out.push(
      `${e.ts}  ${EVENT_STYLE[e.event] ? paint(EVENT_STYLE[e.event]!, label) : label}${where}${retries}${by}${detail}`,
    )
  }
  // A drill is not resumed (its faults are reverted and its window is gone): a new one is run.
  if (t.kind === 'drill' && t.state !== 'succeeded' && t.state !== 'running')
    out.push(`run it again with: plasmactl drill run ${t.what}`)
  else if (t.state === 'aborted' || t.state === 'interrupted' || t.state === 'failed')
    out.push(`resume with: plasmactl runs resume ${t.id}`)
  out.push(`journal: ${t.journal}`)
  if (t.reportDir) out.push(`report: ${t.reportDir} (plasmactl drill report ${t.reportDir})`)
  return out.join('\n')
}
