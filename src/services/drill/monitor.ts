import type {ChainfireClient} from '../../adapters/chainfire/index.js'
import {failureTolerance} from '../health/quorum.js'
import type {HealthChecker} from '../health/index.js'

/** One sub-second look at the members: who leads, how many serve linearizable reads. */
export interface ClusterSample {
  t: number
  /** Name of the member every reachable member names as leader (null: none, or no agreement). */
  leader: string | null
  healthy: number
  failureTolerance: number
  /** Members that did not answer a status call and a linearizable read. */
  down?: string[]
}

export interface HealthSample {
  /** When the probe started and when it reported (ms since the drill started). */
  started: number
  t: number
  status: string
}

/**
 * Polls the cluster while a drill runs: leader and failure tolerance (each member asked directly:
 * its status, and a linearizable read when its view changed or once a second), and the product's
 * own health check. Every POLL ms and every half second while a fault is on (closely()), once a
 * second and every five seconds on a healthy cluster.
 */
export class ClusterMonitor {
  readonly samples: ClusterSample[] = []
  readonly health: HealthSample[] = []
  private stopped = false
  /** Watching closely (a fault is on): the fast pace. */
  private close = false
  private readonly wakers = new Set<() => void>()
  private loops: Promise<void>[] = []
  /** Member id (hex) → member name, learned from the members' own status answers. */
  private readonly names = new Map<string, string>()
  /** Member name → its last successful linearizable read: when, and the term and leader it saw then. */
  private readonly proofs = new Map<string, {at: number; term: number; leader: string}>()

  constructor(
    private readonly client: ChainfireClient,
    private readonly checker: HealthChecker,
    private readonly now: () => number,
    private readonly pollMs = 200,
  ) {}

  get voters(): number {
    return this.client.endpoints.length
  }

  /** One look; TIMEOUT bounds each call (a loaded machine answers slower than a poll interval). */
  async sample(timeout = Math.max(1000, this.pollMs * 5)): Promise<ClusterSample> {
    const t = this.now()
    const answers = await Promise.all(
      this.client.endpoints.map(async (ep) => {
        try {
          const s = await this.client.status(ep, timeout)
          this.names.set(s.header.memberId, ep.name)
          // A linearizable read proves that the member serves (it reaches a quorum and has applied
          // what is committed). It costs the members a ReadIndex round each time, so it is asked
          // when the member's view changed since its last proof (it answered after failing, or its
          // term or leader moved: every election, partition or restart does that) and otherwise
          // once a second while a fault is on, once every five seconds on a healthy cluster.
          const proof = this.proofs.get(ep.name)
          if (
            !proof ||
            proof.term !== s.raftTerm ||
            proof.leader !== s.leader ||
            t - proof.at >= (this.close ? CONFIRM_EVERY_MS : STEADY_CONFIRM_EVERY_MS)
          ) {
            await this.client.linearizableRead(ep, timeout)
            this.proofs.set(ep.name, {at: t, term: s.raftTerm, leader: s.leader})
          }
          return {leader: s.leader, healthy: true}
        } catch {
          this.proofs.delete(ep.name)
          return undefined
        }
      }),
    )
    const down = this.client.endpoints.filter((_, i) => answers[i] === undefined).map((ep) => ep.name)
    const up = answers.filter((a) => a !== undefined)
    const leaders = new Set(up.map((a) => a.leader).filter((l) => l && l !== '0'))
    const id = leaders.size === 1 ? [...leaders][0] : undefined
    const healthy = up.filter((a) => a.healthy).length
    return {
      t,
      leader: id ? (this.names.get(id) ?? id) : null,
      healthy,
      failureTolerance: failureTolerance(this.voters, this.voters - healthy),
      down,
    }
  }

  start(): void {
    this.loops.push(
      (async () => {
        while (!this.stopped) {
          const started = this.now()
          this.samples.push(await this.sample())
          await this.pause((this.close ? this.pollMs : STEADY_POLL_MS) - (this.now() - started))
        }
      })(),
      (async () => {
        while (!this.stopped) {
          const started = this.now()
          const r = await this.checker.check().catch(() => ({status: 'unknown'}))
          this.health.push({started, t: this.now(), status: r.status})
          // A full health check costs more than a status call: at most one every HEALTH_EVERY_MS.
          await this.pause((this.close ? HEALTH_EVERY_MS : STEADY_HEALTH_EVERY_MS) - (this.now() - started))
        }
      })(),
    )
  }

  /**
   * From now until relax(): a sample every POLL ms and a health check every HEALTH_EVERY_MS, both
   * starting at once. A drill watches this closely from its fault until the failure tolerance is
   * back (what it measures); before and after, on a healthy cluster, it looks once a second and runs
   * the health check every five, so that watching costs the cluster little.
   */
  closely(): void {
    this.close = true
    for (const wake of [...this.wakers]) wake()
  }

  relax(): void {
    this.close = false
  }

  /** Sleeps MS, or less when closely() or stop() is called meanwhile. */
  private pause(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve()
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer)
        this.wakers.delete(wake)
        resolve()
      }
      const timer = setTimeout(wake, ms)
      this.wakers.add(wake)
    })
  }

  /** Samples until every member is healthy and the cluster can lose one (up to WITHINMS); the last sample. */
  async settle(withinMs: number): Promise<ClusterSample> {
    const deadline = Date.now() + withinMs
    for (;;) {
      const s = await this.sample(2000)
      if ((s.healthy === this.voters && s.failureTolerance >= 1 && s.leader) || Date.now() >= deadline) return s
      await sleep(250)
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    for (const wake of [...this.wakers]) wake()
    await Promise.all(this.loops)
  }

  /** Waits until a sample taken after SINCE shows the failure tolerance back at TARGET; its time, or null on timeout. */
  async waitTolerance(target: number, since: number, timeoutMs: number): Promise<number | null> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const back = this.samples.find(
        (s) =>
          s.t > since &&
          s.failureTolerance >= target &&
          this.samples.slice(this.samples.indexOf(s)).every((x) => x.failureTolerance >= target),
      )
      if (back) return back.t
      await sleep(this.pollMs / 2)
    }
    return null
  }
}

const HEALTH_EVERY_MS = 500
/** The pace on a healthy cluster (before the fault, after the recovery): a sample a second, a health check every five. */
const STEADY_POLL_MS = 1000
const STEADY_HEALTH_EVERY_MS = 5000
/** A member whose view did not change still proves it serves (a linearizable read) this often. */
const CONFIRM_EVERY_MS = 1000
const STEADY_CONFIRM_EVERY_MS = 5000
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
