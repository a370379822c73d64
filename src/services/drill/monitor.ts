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
 * Polls the cluster while a drill runs: leader and failure tolerance every POLL ms (each member
 * asked directly), and the product's own health check every half second.
 */
export class ClusterMonitor {
  readonly samples: ClusterSample[] = []
  readonly health: HealthSample[] = []
  private stopped = false
  private loops: Promise<void>[] = []
  /** Member id (hex) → member name, learned from the members' own status answers. */
  private readonly names = new Map<string, string>()

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
          await this.client.linearizableRead(ep, timeout)
          return {leader: s.leader, healthy: true}
        } catch {
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
          const left = this.pollMs - (this.now() - started)
          if (left > 0) await sleep(left)
        }
      })(),
      (async () => {
        while (!this.stopped) {
          const started = this.now()
          const r = await this.checker.check().catch(() => ({status: 'unknown'}))
          this.health.push({started, t: this.now(), status: r.status})
          // A full health check costs more than a status call: at most one every HEALTH_EVERY_MS.
          const left = HEALTH_EVERY_MS - (this.now() - started)
          if (left > 0) await sleep(left)
        }
      })(),
    )
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
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
