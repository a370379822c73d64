import {resolveContext} from '../../config/context.js'
import {parseTimeout} from '../../config/duration.js'
import type {LoadedConfig} from '../../config/load.js'
import {exitNameForStatus, setExitCode, UsageError} from '../../errors.js'
import {didYouMean} from '../../suggest.js'
import type {Context} from '../../config/schema.js'
import type {Reporter} from '../reporter.js'
import {cannotCheck, describeCannotCheck} from './cannot-check.js'
import {PROBES} from './probes/index.js'
import type {ComponentHealth, HealthReport, Probe} from './types.js'
import {STATUS_RANK, worst} from './types.js'

export type {ComponentHealth, Finding, HealthReport, Status} from './types.js'

export interface HealthOptions {
  loaded: LoadedConfig
  ctx: Context
  reporter: Reporter
  timeoutMs: number
  /** Only these components (default: all the context configures). */
  components?: string[]
}

/** A health checker that keeps its clients open between runs (cheap refreshes for --watch). */
export class HealthChecker {
  private readonly cache = new Map<string, unknown>()
  private probes?: Probe[]

  constructor(private readonly opts: HealthOptions) {}

  private async loadProbes(): Promise<Probe[]> {
    if (!this.probes) {
      const known = PROBES.map((p) => p.component)
      for (const c of this.opts.components ?? []) {
        if (!known.includes(c))
          throw new UsageError(`unknown component "${c}" (components: ${known.join(', ')})${didYouMean(c, known)}`)
      }
      const wanted = PROBES.filter((p) => !this.opts.components || this.opts.components.includes(p.component))
      const skipped = (component: string): Probe => ({
        component,
        applies: () => false,
        run: () => Promise.reject(new Error('not configured')),
      })
      this.probes = await Promise.all(
        wanted.map((p) => (p.configured(this.opts.ctx) ? p.load() : skipped(p.component))),
      )
    }
    return this.probes
  }

  async check(): Promise<HealthReport> {
    const started = performance.now()
    const probes = await this.loadProbes()
    const pc = {
      loaded: this.opts.loaded,
      ctx: this.opts.ctx,
      reporter: this.opts.reporter,
      timeoutMs: this.opts.timeoutMs,
      cache: this.cache,
    }
    // Components are probed in parallel too; one failing probe never hides the others.
    const components = await Promise.all(
      probes.map(async (p): Promise<ComponentHealth> => {
        if (!p.applies(this.opts.ctx))
          return {
            component: p.component,
            status: 'skipped',
            summary: 'not configured in this context',
            findings: [],
            durationMs: 0,
          }
        const t0 = performance.now()
        try {
          const r = await p.run(pc)
          return {
            component: p.component,
            ...r,
            status: r.status ?? worst(r.findings.map((f) => f.status)),
            durationMs: Math.round(performance.now() - t0),
          }
        } catch (error) {
          const durationMs = Math.round(performance.now() - t0)
          const local = cannotCheck(error)
          if (local) {
            const why = await describeCannotCheck(this.opts.loaded, this.opts.ctx, local)
            return {
              component: p.component,
              status: 'unknown',
              summary: 'not checked (a local problem, see below)',
              findings: [
                {
                  status: 'unknown',
                  message: `cannot check from here (not an outage): ${why}`,
                  fix: 'plasmactl config validate   (after fixing the file it names)',
                },
              ],
              durationMs,
            }
          }
          return {
            component: p.component,
            status: 'crit',
            summary: 'probe failed',
            findings: [{status: 'crit', message: `${p.component} probe failed: ${(error as Error).message}`}],
            durationMs,
          }
        }
      }),
    )
    const problems = components
      .flatMap((c) => c.findings.map((f) => ({...f, message: `${c.component}: ${f.message}`})))
      .filter((f) => f.status !== 'ok')
      .sort((a, b) => STATUS_RANK[b.status] - STATUS_RANK[a.status])
    return {
      context: this.opts.ctx.name,
      environment: this.opts.ctx.environment,
      status: worst(components.map((c) => c.status)),
      checkedAt: new Date().toISOString(),
      durationMs: Math.round(performance.now() - started),
      components,
      problems,
    }
  }

  close(): void {
    for (const v of this.cache.values()) (v as {close?: () => void}).close?.()
    this.cache.clear()
  }
}

/** The flags of a one-shot `plasmactl health` (the command and its fast path, src/fast/health.ts). */
export interface HealthFlags {
  config?: string
  context?: string
  timeout: string
  component?: string[]
}

/** `plasmactl health` without --watch: resolve the context, check once, set the exit code of the verdict. */
export async function healthOnce(flags: HealthFlags, reporter: Reporter): Promise<HealthReport> {
  const {loaded, ctx} = await resolveContext(flags)
  const report = await checkHealth({
    loaded,
    ctx,
    reporter,
    timeoutMs: parseTimeout(flags.timeout, '--timeout'),
    components: flags.component,
  })
  setExitCode(exitNameForStatus(report.status))
  return report
}

export async function checkHealth(opts: HealthOptions): Promise<HealthReport> {
  const checker = new HealthChecker(opts)
  try {
    return await checker.check()
  } finally {
    checker.close()
  }
}

/** What a watch remembers across refreshes: the members it reported cut off by a partition. */
export interface WatchMemory {
  cutOff: Set<string>
}

/**
 * What changed between two refreshes, in words an on-call engineer wants called out. MEMORY (kept
 * by a watch) lets a partition's heal be told as such even when the election it causes leaves the
 * cluster briefly without a leader in between.
 */
export function healthChanges(prev: HealthReport, next: HealthReport, memory?: WatchMemory): string[] {
  const out: string[] = []
  if (prev.status !== next.status) out.push(`status ${prev.status} → ${next.status}`)
  // Each component that changed, with what it says now (not just "ok → crit").
  const before = new Map(prev.components.map((c) => [c.component, c]))
  for (const c of next.components) {
    const b = before.get(c.component)
    if (!b || b.status === c.status || c.component === 'chainfire') continue
    const worstFinding = c.findings
      .filter((f) => f.status !== 'ok')
      .sort((x, y) => STATUS_RANK[y.status] - STATUS_RANK[x.status])[0]
    out.push(`${c.component} ${b.status} → ${c.status}: ${worstFinding?.message ?? c.summary}`)
  }
  const p = prev.components.find((c) => c.component === 'chainfire')?.details as ChainfireDetails | undefined
  const n = next.components.find((c) => c.component === 'chainfire')?.details as ChainfireDetails | undefined
  if (p && n) {
    if (p.leader !== n.leader) {
      // The old leader still up and healthy: it was deposed by an election, not lost.
      const old = n.members.find((m) => m.name === p.leader)
      const deposed = p.leader && n.leader && old?.reachable && old.healthy
      const term =
        p.raftTerm !== null && n.raftTerm !== null && n.raftTerm > p.raftTerm
          ? ` (term ${p.raftTerm} → ${n.raftTerm})`
          : ''
      // One term up and every member healthy before and after: a transfer (move-leader), not a loss.
      const allHealthy = (ms: ChainfireDetails['members']) => ms.every((m) => m.reachable && m.healthy)
      const moved =
        deposed &&
        p.raftTerm !== null &&
        n.raftTerm === p.raftTerm + 1 &&
        allHealthy(p.members) &&
        allHealthy(n.members)
      out.push(
        moved
          ? `chainfire leadership moved: ${p.leader} → ${n.leader}${term}; every member stayed healthy (a leadership transfer, e.g. move-leader), no leader was lost`
          : `chainfire leader changed: ${p.leader ?? 'none'} → ${n.leader ?? 'none'}${term}${deposed ? `; ${p.leader} is still up: a member that was cut off called an election (a healed partition), or leadership was moved` : ''}`,
      )
    }
    if (p.quorum && !n.quorum) out.push('chainfire QUORUM LOST')
    if (!p.quorum && n.quorum) out.push('chainfire quorum restored')
    if (p.leader && p.leader === n.leader && p.raftTerm !== null && n.raftTerm !== null && n.raftTerm > p.raftTerm) {
      out.push(
        `chainfire raft term ${p.raftTerm} → ${n.raftTerm} without a leader change: a member called an election (cut off, or restarted)`,
      )
    }
    const before = new Map(p.members.map((m) => [m.name, m]))
    const cutOff =
      memory?.cutOff ?? new Set(p.quorum ? p.members.filter((m) => m.reachable && !m.healthy).map((m) => m.name) : [])
    for (const m of n.members) {
      const b = before.get(m.name)
      if (!m.reachable) memory?.cutOff.delete(m.name)
      if (!b) out.push(`chainfire member ${m.name} appeared`)
      else if (b.reachable && !m.reachable) out.push(`chainfire member ${m.name} ${memberDownWords(m.error)}`)
      else if (!b.reachable && m.reachable) out.push(`chainfire member ${m.name} came back`)
      else if (b.healthy && !m.healthy && m.reachable) {
        // Its process answers us while the others keep quorum without it: its peers cannot reach it.
        const cut = n.quorum && n.leader !== m.name
        if (cut) memory?.cutOff.add(m.name)
        out.push(
          cut
            ? `chainfire member ${m.name} is CUT OFF from its peers (a partition): its process is up and answers us, but it cannot reach leader ${n.leader}; the others keep quorum without it`
            : `chainfire member ${m.name} became unhealthy (answers us but cannot serve a read: cut off from its peers, or no quorum)`,
        )
      } else if (!b.healthy && m.healthy && b.reachable && m.reachable) {
        // It answered us all along while cut off: the partition healed (not a restart, not quorum coming back).
        const healed = cutOff.has(m.name)
        memory?.cutOff.delete(m.name)
        out.push(
          healed
            ? `chainfire partition healed: ${m.name} rejoined at term ${n.raftTerm ?? '?'}${n.leader ? ` (leader ${n.leader})` : ''}`
            : `chainfire member ${m.name} is healthy again: it reached its peers (a partition healed, or quorum came back)`,
        )
      }
    }
    const after = new Set(n.members.map((m) => m.name))
    for (const name of before.keys()) if (!after.has(name)) out.push(`chainfire member ${name} left the cluster`)
  }
  return out
}

/** A member that refuses connections went down; one that accepts them and never answers is hung (SIGSTOP, overload). */
export function memberDownWords(error: string | null | undefined): string {
  if (error && /no answer/.test(error)) return `is NOT ANSWERING (hung or overloaded: ${error})`
  return `went DOWN${error ? ` (${error})` : ''}`
}

interface ChainfireDetails {
  leader: string | null
  quorum: boolean
  raftTerm: number | null
  members: {name: string; reachable: boolean; healthy: boolean; error: string | null}[]
}

/** The last line of `health --watch --json`. */
export interface HealthWatchEnd {
  type: 'end'
  status: 'interrupted' | 'terminated'
  reports: number
  lastStatus: HealthReport['status'] | null
}

export interface HealthUpdate {
  report: HealthReport
  changes: string[]
}

/** Re-checks every interval until the signal aborts; clients stay open between refreshes. */
export async function* watchHealth(
  opts: HealthOptions,
  intervalMs: number,
  signal: AbortSignal,
): AsyncGenerator<HealthUpdate> {
  const checker = new HealthChecker(opts)
  let prev: HealthReport | undefined
  const memory: WatchMemory = {cutOff: new Set()}
  try {
    while (!signal.aborted) {
      const report = await checker.check()
      yield {report, changes: prev ? healthChanges(prev, report, memory) : []}
      prev = report
      // One listener per wait, removed when the wait ends (else they pile up: MaxListenersExceededWarning).
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t)
          signal.removeEventListener('abort', done)
          resolve()
        }
        const t = setTimeout(done, intervalMs)
        signal.addEventListener('abort', done, {once: true})
      })
    }
  } finally {
    checker.close()
  }
}
