import {isPromptInterrupt, RunInterrupt, type SignalHold} from './interrupt.js'
import type {Journal, JournalEvent} from './journal.js'

export interface StepDef<S extends string> {
  step: S
  node?: string
  describe: string
}

/** Progress sink (services/reporter.ts Reporter). */
export interface StepReporter {
  info(msg: string): void
  warn(msg: string): void
}

export interface StepRunnerOptions {
  /** Ctrl-C handling: the lock that gives itself back on a signal, and the state to report. */
  lock?: SignalHold
  state?: () => Promise<string>
  /**
   * Journals the steps under PREFIX (e.g. "replace/"): a built-in plan run as one step of a
   * runbook, on the runbook's journal, lock and Ctrl-C handling (its steps skipped on resume alike).
   */
  prefix?: string
}

/**
 * The engine's step loop for built-in plans (node remove/add/replace, snapshot restore): each step
 * journaled (start, end, failure), a step that completed in an earlier attempt of the run skipped
 * on resume, Ctrl-C recorded as an abort naming the step and the state left (exit 130). Shaped like
 * a runbook's step list so these plans run like runbooks.
 */
export class StepRunner<S extends string> {
  readonly skipped: string[] = []
  readonly completed: string[] = []
  private readonly done: Set<string>
  private current: string | undefined
  private readonly interrupt: RunInterrupt
  private readonly prefix: string

  constructor(
    readonly journal: Journal,
    private readonly reporter: StepReporter,
    opts: StepRunnerOptions = {},
  ) {
    this.done = journal.completed()
    this.prefix = opts.prefix ?? ''
    this.interrupt = new RunInterrupt({
      journal,
      runId: journal.id,
      where: () => this.current,
      report: (m) => reporter.warn(m),
      state: opts.state ?? (async () => 'state not read'),
    })
    if (opts.lock) this.interrupt.arm(opts.lock)
  }

  key(s: StepDef<S>): string {
    return s.node ? `${this.prefix}${s.step}@${s.node}` : `${this.prefix}${s.step}`
  }

  async run(s: StepDef<S>, fn: () => Promise<Record<string, unknown> | void>): Promise<void> {
    const key = this.key(s)
    if (this.done.has(key)) {
      this.skipped.push(key)
      this.reporter.info(`skip (done earlier in this run): ${s.describe}`)
      return
    }
    this.interrupt.check()
    this.current = key
    this.reporter.info(s.describe)
    const step = this.prefix + s.step
    await this.journal.append({type: 'step-start', step, target: s.node})
    try {
      const data = await fn()
      await this.journal.append({type: 'step-end', step, target: s.node, ok: true, ...(data ? {data} : {})})
      this.completed.push(key)
    } catch (error) {
      if (isPromptInterrupt(error) || this.interrupt.signal) throw await this.interrupt.fromPrompt()
      await this.journal.append({
        type: 'step-end',
        step,
        target: s.node,
        ok: false,
        error: (error as Error).message,
      })
      throw error
    }
  }

  /** Data recorded by a completed step (from this attempt or an earlier one); KEY without the prefix. */
  dataOf(key: string): Record<string, unknown> | undefined {
    const full = this.prefix + key
    const e = [...this.journal.all]
      .reverse()
      .find(
        (x: JournalEvent) => x.type === 'step-end' && x.ok && (x.target ? `${x.step}@${x.target}` : x.step) === full,
      )
    return e?.data
  }

  /** Stops listening for Ctrl-C (the run ended or failed). */
  close(): void {
    this.interrupt.disarm()
  }
}
