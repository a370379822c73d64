import type {HistoryChecks, LatencyWindow} from './analyze.js'
import type {ClusterSample, HealthSample} from './monitor.js'

/** The measures of one drill, in `--json` under data.measures (seconds; null: did not happen). */
export interface DrillMeasures {
  /** Fault → the first health probe that reports it. */
  detectionSeconds: number | null
  /** Fault → a new leader (polled sub-second); null when leadership never moved. */
  electionSeconds: number | null
  /** Longest gap between acknowledged writes during the fault, minus the baseline's longest gap. */
  unavailableSeconds: number | null
  failedOps: number
  indeterminateOps: number
  ackedWrites: number
  lostAckedWrites: number
  staleReads: number
  linearizable: boolean
  /** Fault → failure tolerance back to its pre-fault value. */
  rtoSeconds: number | null
  latency: {before: LatencyWindow; during: LatencyWindow; after: LatencyWindow}
}

export interface SloResult {
  objective: string
  limit: string
  value: number | boolean | null
  pass: boolean
}

export interface DrillResult {
  runId: string | null
  drill: string
  context: string
  status: 'pass' | 'fail' | 'skipped'
  verdict: 'pass' | 'fail' | 'skipped'
  /** Why the drill did not run ("skipped: netem not available"). */
  skipped?: string
  fault?: {kind: string; node: string; wasLeader: boolean; deadManSeconds: number; rules?: string[]}
  recovery?: {method: string; status: string; seconds: number | null}
  measures?: DrillMeasures
  slo?: SloResult[]
  checks?: HistoryChecks & {ackedSequencedWrites: number}
  /** Seconds since the drill started. */
  timeline?: {faultAt: number; revertedAt: number; recoveredAt: number | null; end: number}
  samples?: ClusterSample[]
  health?: HealthSample[]
  journal?: string
  reportDir?: string
}
