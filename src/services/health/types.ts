import type {LoadedConfig} from '../../config/load.js'
import type {Context} from '../../config/schema.js'
import type {Reporter} from '../reporter.js'

/** unknown: we could not look (our key, known_hosts, config or network), which says nothing about the cluster. */
export type Status = 'ok' | 'warn' | 'unknown' | 'crit'
export type ComponentStatus = Status | 'skipped'

export const STATUS_RANK: Record<ComponentStatus, number> = {skipped: -1, ok: 0, warn: 1, unknown: 2, crit: 3}

export function worst(statuses: ComponentStatus[]): Status {
  let w: Status = 'ok'
  for (const s of statuses) if (s !== 'skipped' && STATUS_RANK[s] > STATUS_RANK[w]) w = s
  return w
}

/** One finding of a probe: what is wrong (or fine), where, and how bad. */
export interface Finding {
  status: Status
  target?: string
  message: string
  /** The command that addresses it, when there is one. */
  fix?: string
}

export interface ComponentHealth<D = unknown> {
  component: string
  status: ComponentStatus
  summary: string
  findings: Finding[]
  details?: D
  durationMs: number
}

export interface ProbeContext {
  loaded: LoadedConfig
  ctx: Context
  reporter: Reporter
  /** Per-call timeout for remote checks. */
  timeoutMs?: number
  /** Long-lived resources (clients) that a probe may keep between refreshes in --watch mode. */
  cache: Map<string, unknown>
}

/**
 * A health probe for one component. Later components (FlareDB, PlasmaVMC, IAM, PrismNet, backups)
 * add a probe to the registry in ./probes/index.ts; the command never changes.
 */
export interface Probe<D = unknown> {
  component: string
  /** Whether the context configures this component; unconfigured components are skipped, not failed. */
  applies(ctx: Context): boolean
  run(pc: ProbeContext): Promise<ProbeResult<D>>
}

/**
 * What a probe finds. The checker adds the component name and the time the probe took; the status
 * is the worst finding unless the probe says otherwise.
 */
export interface ProbeResult<D = unknown> {
  status?: ComponentStatus
  summary: string
  findings: Finding[]
  details?: D
}

/** A client kept in the probe context's cache, so --watch refreshes reuse its connections. */
export function cached<T>(pc: ProbeContext, key: string, open: () => T): T {
  if (!pc.cache.has(key)) pc.cache.set(key, open())
  return pc.cache.get(key) as T
}

export interface HealthReport {
  context: string
  environment: string
  status: Status
  checkedAt: string
  durationMs: number
  components: ComponentHealth[]
  /** Plain-language list of what is wrong, most severe first. */
  problems: Finding[]
}
