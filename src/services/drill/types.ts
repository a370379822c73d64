import type {HistoryChecks, LatencyWindow, MemberWindow} from './analyze.js'
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
  /** rolling-restart: each member's restart as the monitor and the workload saw it. */
  members?: MemberWindow[]
}

/** The measures of a component drill (seconds since the fault; null: did not happen). */
export interface ComponentMeasures {
  /** Fault → the component's health probe reports it. */
  detectionSeconds: number | null
  /** How long the recovery (runbook or service command) took. */
  recoverySeconds: number | null
  /** Fault → the component's health probe reports ok again. */
  rtoSeconds: number | null
}

/** The measures of a restore rehearsal (seconds since the rehearsal started; null: not reached). */
export interface RehearsalMeasures {
  /** Start → the restored member answers a linearizable read (fetch, restore and start included). */
  timeToServingSeconds: number | null
  /** Start → the snapshot fetched and restored into the throwaway data dir. */
  restoreSeconds: number | null
  /** Start → the throwaway member started. */
  startSeconds: number | null
  revision: number | null
  expectedRevision: number
  /** Keys at the snapshot's revision (plasmactl's lock keys left out, as the manifest counts). */
  keyCount: number | null
  expectedKeyCount: number | null
  /** HashKV at the snapshot's revision: the restored copy's, and the expected one (null: not comparable). */
  hashKV: number | null
  expectedHashKV: number | null
  /** Where the expected HashKV came from: the manifest (recorded at save time) or the live cluster. */
  expectedHashKVFrom: 'manifest' | 'live' | null
}

export interface RehearsalCheck {
  check: string
  ok: boolean
  detail: string
}

/** What a restore rehearsal restored, where, and whether the throwaway cluster is gone. */
export interface RehearsalDetails {
  snapshot: string
  target: string
  createdAt: string
  members: number
  /** The first member's URLs (the only one's, by default). */
  clientUrl: string
  peerUrl: string
  /** --members N: every member's client URL. */
  clientUrls?: string[]
  /** The member's data dir; with several members, the dir holding theirs. */
  dataDir: string
  /** etcdutl or etcdctl (etcd 3.4). */
  tool: string
  checks: RehearsalCheck[]
  tornDown: boolean
  error?: string
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
  measures?: DrillMeasures | RehearsalMeasures | ComponentMeasures
  /** Component drills: the health component and what was hit. */
  component?: {name: string; what: string}
  /** restore-rehearsal only. */
  rehearsal?: RehearsalDetails
  slo?: SloResult[]
  checks?: HistoryChecks & {ackedSequencedWrites: number}
  /** The workload as asked (--clients, --rate) and as it ran: operations it recorded, per second of its run. */
  workload?: {clients: number; rate: number; operations: number; opsPerSecond: number}
  /** Seconds since the drill started. */
  timeline?: {faultAt: number; revertedAt: number; recoveredAt: number | null; end: number}
  samples?: ClusterSample[]
  health?: HealthSample[]
  journal?: string
  reportDir?: string
}
