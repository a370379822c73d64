import {ChainfireCallError, type ChainfireClient, type EndpointSpec} from '../../adapters/chainfire/index.js'
import {prefixEnd, type WatchItem} from '../../adapters/chainfire/client.js'

/**
 * One operation of a drill's client as it saw it. `seq` is a sequenced write of the client's own key
 * (each acknowledged one must be there after recovery); write, cas and read work on shared registers
 * (the history the linearizability checker reads). Times are milliseconds since the drill started.
 */
export interface DrillOp {
  client: number
  kind: 'seq' | 'write' | 'cas' | 'read'
  /** The key below the drill prefix. */
  key: string
  value?: string
  from?: string
  to?: string
  outcome: 'ok' | 'fail' | 'indeterminate'
  /** cas: whether it applied. */
  applied?: boolean
  /** read: the value seen (null: the key did not exist) and its mod revision (0 when absent). */
  read?: string | null
  readRevision?: number
  /** The revision an applied write created. */
  revision?: number
  call: number
  complete: number
  endpoint: string
  error?: string
}

export interface WatchRecord {
  /** The mod revision of every event under the prefix, in delivery order. */
  revisions: number[]
  gaps: number
  disconnects: number
}

export interface WorkloadOptions {
  client: ChainfireClient
  /** Drill keys live under this prefix (ends with "/"). */
  prefix: string
  clients: number
  /** Shared register keys. */
  keys: number
  /**
   * A client starts an iteration (a sequenced write, then one register operation) every INTERVALMS,
   * on ticks all clients share, so their operations reach the members together and the members
   * batch them as they batch any concurrent load (raft proposals, ReadIndex). A tick that passed
   * while an operation was still running is skipped, not made up. 0: back to back.
   */
  intervalMs: number
  opTimeoutMs: number
  /** The drill's clock (ms since it started). */
  now: () => number
}

/** An error that proves the request never reached a member able to apply it (the op failed, not indeterminate). */
function definitelyNotApplied(e: unknown): boolean {
  const why = e instanceof ChainfireCallError ? e.reason : String((e as Error)?.message ?? e)
  return /connection refused|no connection could be established|no leader|not capable|host unreachable/i.test(why)
}

function short(e: unknown): string {
  return (e instanceof ChainfireCallError ? e.reason : String((e as Error)?.message ?? e)).slice(0, 160)
}

/**
 * Several clients doing sequenced writes, compare-and-set and linearizable reads on drill keys,
 * plus a watch of the prefix. Each client talks to one member at a time (no transparent retries: a
 * retried write could apply twice) and moves to the next member after an error.
 */
export class Workload {
  readonly history: DrillOp[] = []
  readonly watch: WatchRecord = {revisions: [], gaps: 0, disconnects: 0}
  private stopped = false
  private loops: Promise<void>[] = []
  private readonly watchAbort = new AbortController()
  private watchLoop: Promise<void> | undefined
  private lastWatched = 0

  constructor(private readonly o: WorkloadOptions) {}

  start(startRevision: number): void {
    this.watchLoop = this.runWatch(startRevision)
    for (let c = 0; c < this.o.clients; c++) this.loops.push(this.runClient(c))
  }

  /** Stops the clients, then lets the watch catch up with the last acknowledged write (bounded). */
  async stop(watchCatchUpMs = 15_000): Promise<void> {
    this.stopped = true
    await Promise.all(this.loops)
    const last = Math.max(0, ...this.history.filter((h) => h.revision !== undefined).map((h) => h.revision!))
    const deadline = Date.now() + watchCatchUpMs
    while (this.lastWatched < last && Date.now() < deadline) await sleep(50)
    this.watchAbort.abort()
    await this.watchLoop?.catch(() => undefined)
  }

  private async runWatch(startRevision: number): Promise<void> {
    const key = Buffer.from(this.o.prefix)
    try {
      for await (const item of this.o.client.watch({
        key,
        rangeEnd: prefixEnd(key),
        startRevision,
        signal: this.watchAbort.signal,
        backoffMs: 100,
        maxBackoffMs: 1000,
      }) as AsyncGenerator<WatchItem>) {
        if (item.type === 'events') {
          for (const e of item.events) this.watch.revisions.push(e.kv.modRevision)
          this.lastWatched = Math.max(this.lastWatched, item.revision)
        } else if (item.type === 'gap') this.watch.gaps++
        else if (item.type === 'disconnected') this.watch.disconnects++
        else if (item.type === 'progress') this.lastWatched = Math.max(this.lastWatched, item.revision)
      }
    } catch {
      // Aborted: the drill is over.
    }
  }

  /** Waits for the next shared tick after now (the clients' iterations start together). */
  private async nextTick(): Promise<void> {
    const every = this.o.intervalMs
    if (every <= 0) return
    const since = performance.now() - this.ticks0
    await sleep(Math.ceil((since + 1) / every) * every - since)
  }

  private readonly ticks0 = performance.now()

  private async runClient(client: number): Promise<void> {
    const endpoints = this.o.client.endpoints
    let at = client % endpoints.length
    const lastSeen = new Map<string, string>()
    for (let seq = 1; !this.stopped; seq++) {
      const ep = endpoints[at]
      const results = [await this.seqWrite(client, ep, seq)]
      // Two clients share a register at each tick: concurrent operations on one key are what the
      // linearizability check has something to decide about.
      const key = `r${(seq + (client >> 1)) % this.o.keys}`
      const mine = `c${client}-${seq}`
      const seen = lastSeen.get(key)
      const pick = seq % 3
      if (pick === 0) {
        const r = await this.record({client, kind: 'write', key, value: mine}, ep, async (timeout) => ({
          revision: (await this.o.client.putOn(ep, this.o.prefix + key, mine, timeout)).header.revision,
        }))
        if (r.outcome === 'ok') lastSeen.set(key, mine)
        results.push(r)
      } else if (pick === 1 && seen !== undefined) {
        const to = `${mine}x`
        const r = await this.record({client, kind: 'cas', key, from: seen, to}, ep, async (timeout) => {
          const res = await this.o.client.casOn(ep, this.o.prefix + key, seen, to, timeout)
          return res.succeeded ? {applied: true, revision: res.header.revision} : {applied: false}
        })
        if (r.outcome === 'ok') lastSeen.set(key, r.applied ? to : (lastSeen.get(key) ?? seen))
        results.push(r)
      } else {
        const r = await this.record({client, kind: 'read', key}, ep, async (timeout) => {
          const kv = (await this.o.client.getOn(ep, this.o.prefix + key, timeout)).kvs[0]
          return {read: kv ? kv.value.toString('utf8') : null, readRevision: kv?.modRevision ?? 0}
        })
        if (r.outcome === 'ok' && r.read !== null && r.read !== undefined) lastSeen.set(key, r.read)
        results.push(r)
      }
      if (results.some((r) => r.outcome !== 'ok')) {
        at = (at + 1) % endpoints.length
        await sleep(50)
      }
      await this.nextTick()
    }
  }

  private seqWrite(client: number, ep: EndpointSpec, seq: number): Promise<DrillOp> {
    const key = `c${client}/s${seq}`
    return this.record({client, kind: 'seq', key, value: String(seq)}, ep, async (timeout) => ({
      revision: (await this.o.client.putOn(ep, this.o.prefix + key, String(seq), timeout)).header.revision,
    }))
  }

  private async record(
    base: Pick<DrillOp, 'client' | 'kind' | 'key' | 'value' | 'from' | 'to'>,
    ep: EndpointSpec,
    call: (timeoutMs: number) => Promise<Partial<DrillOp>>,
  ): Promise<DrillOp> {
    const t0 = this.o.now()
    let op: DrillOp
    try {
      const res = await call(this.o.opTimeoutMs)
      op = {...base, ...res, outcome: 'ok', call: t0, complete: this.o.now(), endpoint: ep.name}
    } catch (error) {
      const outcome = base.kind === 'read' || definitelyNotApplied(error) ? 'fail' : 'indeterminate'
      op = {...base, outcome, call: t0, complete: this.o.now(), endpoint: ep.name, error: short(error)}
    }
    this.history.push(op)
    return op
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
