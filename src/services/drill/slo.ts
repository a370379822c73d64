import {parseDuration} from '../../config/duration.js'
import type {Context} from '../../config/schema.js'
import type {SloResult} from './types.js'

/** The HA notes' objective: "leader election completes in < 10 s with 2/3 quorum". */
export const DEFAULT_ELECTION_SECONDS = 10

/** The context's drill objectives (`drills:` in the config), in seconds. */
export interface DrillObjectives {
  election: number
  rto?: number
  unavailable?: number
  detection?: number
}

export function drillObjectives(ctx: Context): DrillObjectives {
  const d = ctx.drills ?? {}
  const s = (v: string | number | undefined, what: string) =>
    v === undefined ? undefined : parseDuration(v, `drills.${what}`) / 1000
  return {
    election: s(d.election, 'election') ?? DEFAULT_ELECTION_SECONDS,
    rto: s(d.rto, 'rto'),
    unavailable: s(d.unavailable, 'unavailable'),
    detection: s(d.detection, 'detection'),
  }
}

/** An objective "VALUE ≤ LIMIT seconds" (a measure that did not happen fails it). */
export function objectiveAtMost(objective: string, limitSeconds: number, value: number | null): SloResult {
  return {objective, limit: `<= ${limitSeconds}s`, value, pass: value !== null && value <= limitSeconds}
}

/**
 * The context's optional objectives on a drill's measures (rto, unavailable, detection), when
 * configured and the drill has that measure (a component drill has no unavailableSeconds).
 */
export function configuredObjectives(
  o: DrillObjectives,
  m: {rtoSeconds: number | null; unavailableSeconds?: number | null; detectionSeconds: number | null},
): SloResult[] {
  return [
    ...(o.rto === undefined ? [] : [objectiveAtMost('rto', o.rto, m.rtoSeconds)]),
    ...(o.unavailable === undefined || m.unavailableSeconds === undefined
      ? []
      : [objectiveAtMost('unavailable', o.unavailable, m.unavailableSeconds)]),
    ...(o.detection === undefined ? [] : [objectiveAtMost('detection', o.detection, m.detectionSeconds)]),
  ]
}

/** The verdict (every objective passed), journaled as the run's end; the head of the drill's result. */
export async function endDrillRun(
  journal: {
    append(e: {type: 'end'; ok: boolean; data: Record<string, unknown>}): Promise<void>
    close(): Promise<void> | void
  },
  slo: SloResult[],
  head: {runId: string; drill: string; context: string; reportDir: string},
): Promise<{
  runId: string
  drill: string
  context: string
  status: 'pass' | 'fail'
  verdict: 'pass' | 'fail'
  reportDir: string
}> {
  const verdict = slo.every((s) => s.pass) ? 'pass' : 'fail'
  await journal.append({type: 'end', ok: verdict === 'pass', data: {verdict, reportDir: head.reportDir}})
  await journal.close()
  return {...head, status: verdict, verdict}
}
