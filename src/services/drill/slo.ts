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

/** The context's optional objectives on a drill's measures (rto, unavailable, detection), when configured. */
export function configuredObjectives(
  o: DrillObjectives,
  m: {rtoSeconds: number | null; unavailableSeconds: number | null; detectionSeconds: number | null},
): SloResult[] {
  return [
    ...(o.rto === undefined ? [] : [objectiveAtMost('rto', o.rto, m.rtoSeconds)]),
    ...(o.unavailable === undefined ? [] : [objectiveAtMost('unavailable', o.unavailable, m.unavailableSeconds)]),
    ...(o.detection === undefined ? [] : [objectiveAtMost('detection', o.detection, m.detectionSeconds)]),
  ]
}
