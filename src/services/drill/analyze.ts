import {checkLinearizable, type HistoryOperation} from './linearizability.js'
import type {ClusterSample} from './monitor.js'
import type {DrillOp, WatchRecord} from './workload.js'

/** An acknowledged write: an ok put, or a compare-and-set that applied. */
export function acked(op: DrillOp): boolean {
  return op.outcome === 'ok' && (op.kind === 'seq' || op.kind === 'write' || (op.kind === 'cas' && op.applied === true))
}

/**
 * The register history the checker reads: writes, compare-and-sets and reads of the shared keys.
 * A failed operation (never applied) and a failed read constrain nothing and are left out.
 */
export function registerHistory(ops: DrillOp[]): HistoryOperation[] {
  const out: HistoryOperation[] = []
  for (const op of ops) {
    if (op.kind === 'seq' || op.outcome === 'fail') continue
    const input =
      op.kind === 'read'
        ? {op: 'read' as const}
        : op.kind === 'write'
          ? {op: 'write' as const, value: op.value!}
          : {op: 'cas' as const, from: op.from!, to: op.to!}
    const output =
      op.outcome === 'indeterminate'
        ? {indeterminate: true as const}
        : op.kind === 'read'
          ? {ok: true as const, value: op.read ?? null}
          : {ok: true as const, applied: op.kind === 'cas' ? op.applied : undefined}
    out.push({key: op.key, client: op.client, input, output, call: op.call, complete: op.complete})
  }
  return out
}

/**
 * Reads that returned a value already overwritten before they were sent: an acknowledged write of a
 * newer revision of the same key had completed before the read's invocation.
 */
export function countStaleReads(ops: DrillOp[]): number {
  const writes = new Map<string, {revision: number; complete: number}[]>()
  for (const op of ops) {
    if (op.kind === 'seq' || !acked(op) || op.revision === undefined) continue
    let list = writes.get(op.key)
    if (!list) writes.set(op.key, (list = []))
    list.push({revision: op.revision, complete: op.complete})
  }
  let stale = 0
  for (const op of ops) {
    if (op.kind !== 'read' || op.outcome !== 'ok') continue
    const seen = op.readRevision ?? 0
    if ((writes.get(op.key) ?? []).some((w) => w.revision > seen && w.complete < op.call)) stale++
  }
  return stale
}

export interface WatchCheck {
  ok: boolean
  events: number
  duplicates: number
  outOfOrder: number
  /** Acknowledged writes whose revision the watch never delivered. */
  missing: number
  gaps: number
}

/** The watch saw every acknowledged revision once, in order. */
export function checkWatch(ops: DrillOp[], w: WatchRecord): WatchCheck {
  const seen = new Set<number>()
  let duplicates = 0
  let outOfOrder = 0
  let prev = 0
  for (const r of w.revisions) {
    if (seen.has(r)) duplicates++
    else if (r < prev) outOfOrder++
    seen.add(r)
    prev = Math.max(prev, r)
  }
  const missing = ops.filter((op) => acked(op) && op.revision !== undefined && !seen.has(op.revision)).length
  return {
    ok: duplicates === 0 && outOfOrder === 0 && missing === 0 && w.gaps === 0,
    events: w.revisions.length,
    duplicates,
    outOfOrder,
    missing,
    gaps: w.gaps,
  }
}

export function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

export interface LatencyWindow {
  ops: number
  p50Ms: number | null
  p99Ms: number | null
}

/** Latency of successful operations invoked in [from, to). */
export function latencyWindow(ops: DrillOp[], from: number, to: number): LatencyWindow {
  const l = ops
    .filter((o) => o.outcome === 'ok' && o.call >= from && o.call < to)
    .map((o) => o.complete - o.call)
    .sort((a, b) => a - b)
  const r = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10)
  return {ops: l.length, p50Ms: r(percentile(l, 50)), p99Ms: r(percentile(l, 99))}
}

/** The longest time without an acknowledged write in [from, to] (ms), counting from the last ack before FROM. */
export function longestAckGap(ops: DrillOp[], from: number, to: number): number {
  const t = ops
    .filter(acked)
    .map((o) => o.complete)
    .sort((a, b) => a - b)
  let last = [...t].reverse().find((x) => x < from) ?? from
  let gap = 0
  for (const x of t) {
    if (x < from) continue
    if (x > to) break
    gap = Math.max(gap, x - last)
    last = x
  }
  return Math.max(gap, t.some((x) => x >= from && x <= to) ? 0 : to - last)
}

export interface HistoryChecks {
  linearizable: boolean
  failedKeys: string[]
  staleReads: number
  watch: WatchCheck
}

export function checkHistory(ops: DrillOp[], w: WatchRecord): HistoryChecks {
  const lin = checkLinearizable(registerHistory(ops))
  return {
    linearizable: lin.linearizable,
    failedKeys: lin.failedKeys,
    staleReads: countStaleReads(ops),
    watch: checkWatch(ops, w),
  }
}

/** Milliseconds as seconds with millisecond precision (null stays null). */
export const secs = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : Math.round(ms) / 1000)

/** One member's restart as the monitor saw it (rolling restart), in seconds since the drill started. */
export interface MemberWindow {
  node: string
  /** First sample that found the member down, and the first after it that found it serving. */
  downAt: number | null
  upAt: number | null
  downSeconds: number | null
  /** It led when it went down (leadership was not handed over first). */
  wasLeader: boolean
  /** Down → another member leads (only when it led). */
  electionSeconds: number | null
  ackedWrites: number
  failedOps: number
  /** Longest gap between acknowledged writes while it was down, minus the baseline's. */
  unavailableSeconds: number | null
}

/** Each member's down window in [from, to] (ms) and what the workload saw meanwhile. */
export function memberWindows(
  samples: ClusterSample[],
  ops: DrillOp[],
  nodes: string[],
  from: number,
  to: number,
  baselineGap: number,
): MemberWindow[] {
  return nodes.map((node) => {
    const i = samples.findIndex((s) => s.t >= from && s.t <= to && s.down?.includes(node))
    if (i < 0)
      return {
        node,
        downAt: null,
        upAt: null,
        downSeconds: null,
        wasLeader: false,
        electionSeconds: null,
        ackedWrites: 0,
        failedOps: 0,
        unavailableSeconds: null,
      }
    const downAt = samples[i].t
    const upAt = samples.slice(i).find((s) => !s.down?.includes(node))?.t ?? null
    const wasLeader = [...samples.slice(0, i)].reverse().find((s) => s.leader !== null)?.leader === node
    const elected = wasLeader ? samples.slice(i).find((s) => s.leader !== null && s.leader !== node) : undefined
    const end = upAt ?? to
    const inWindow = ops.filter((o) => o.complete >= downAt && o.complete <= end)
    return {
      node,
      downAt: secs(downAt),
      upAt: secs(upAt),
      downSeconds: upAt === null ? null : secs(upAt - downAt),
      wasLeader,
      electionSeconds: elected ? secs(elected.t - downAt) : null,
      ackedWrites: inWindow.filter(acked).length,
      failedOps: inWindow.filter((o) => o.outcome === 'fail').length,
      unavailableSeconds: secs(Math.max(0, longestAckGap(ops, downAt, end) - baselineGap)),
    }
  })
}
