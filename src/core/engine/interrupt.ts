import {InterruptedError} from '../../errors.js'
import {type Journal, operatorId} from './journal.js'

/** A held lock that runs hooks when a signal ends its holder (services/lock.ts HeldLock). */
export interface SignalHold {
  onSignal(fn: (sig: NodeJS.Signals) => Promise<void>): () => void
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/** True for the error an inquirer prompt throws when Ctrl-C closes it. */
export function isPromptInterrupt(e: unknown): boolean {
  return (e as {name?: string})?.name === 'ExitPromptError' || e instanceof InterruptedError
}

export interface InterruptOptions {
  journal: Journal
  runId: string
  /** The step (and target) in flight or next, e.g. "restart@n2/stop". */
  where: () => string | undefined
  /** What state the run leaves behind, read now (bounded by the caller's patience: 2 s). */
  state: () => Promise<string>
  /** Where the abort message goes (stderr). */
  report: (message: string) => void
}

/**
 * Ctrl-C anywhere in a run: a signal (during a step) or a prompt closed with Ctrl-C. Either way the
 * journal gets one `abort` event (who, when, where, the state left) and the operator one line:
 * "aborted at step n2/stop: …; resume with: plasmactl runs resume RUN". A signal then ends the
 * process by that signal (the shell sees 130) once the lock is given back; a prompt abort throws
 * InterruptedError (exit 130).
 */
export class RunInterrupt {
  /** Set as soon as a signal arrives: the engine starts no further step. */
  signal: NodeJS.Signals | undefined
  private recorded: Promise<string> | undefined
  private readonly undo: (() => void)[] = []

  constructor(private readonly o: InterruptOptions) {}

  /** Listens for signals: through the lock (it releases after the abort is recorded) or alone. */
  arm(lock?: SignalHold): void {
    const onSig = async (sig: NodeJS.Signals) => {
      this.signal = sig
      await this.record(sig)
    }
    if (lock) {
      this.undo.push(lock.onSignal(onSig))
      return
    }
    const handler = (sig: NodeJS.Signals) => {
      for (const s of SIGNALS) process.removeListener(s, handler)
      void Promise.race([onSig(sig).catch(() => undefined), new Promise((r) => setTimeout(r, 5000).unref())]).finally(
        () => process.kill(process.pid, sig),
      )
    }
    for (const s of SIGNALS) process.on(s, handler)
    this.undo.push(() => {
      for (const s of SIGNALS) process.removeListener(s, handler)
    })
  }

  disarm(): void {
    for (const u of this.undo.splice(0)) u()
  }

  /** Throws InterruptedError once a signal arrived (checked before each step). */
  check(): void {
    if (this.signal)
      throw new InterruptedError(
        `interrupted (${this.signal}) before step ${this.o.where() ?? '?'}`,
        {runId: this.o.runId},
        {signal: this.signal},
      )
  }

  /** The message of an abort at the current step (journals it once; printed unless an error will carry it). */
  record(reason: string, print = true): Promise<string> {
    this.recorded ??= (async () => {
      const where = this.o.where()
      const state = await Promise.race([
        this.o.state().catch((e) => `state unknown (${(e as Error).message})`),
        new Promise<string>((r) => setTimeout(() => r('state unknown (no answer within 2 s)'), 2000).unref()),
      ])
      const message = `aborted${where ? ` at step ${where}` : ''}: ${state}; resume with: plasmactl runs resume ${this.o.runId}`
      this.o.journal.appendSync({type: 'abort', step: where, data: {reason, by: operatorId(), state, message}})
      if (print) this.o.report(message)
      return message
    })()
    return this.recorded
  }

  /** A prompt closed with Ctrl-C: journal the abort and turn it into exit 130. */
  async fromPrompt(): Promise<InterruptedError> {
    const message = await this.record(this.signal ?? 'prompt', false)
    return new InterruptedError(
      message,
      {runId: this.o.runId, hint: `resume with: plasmactl runs resume ${this.o.runId}`},
      {signal: this.signal},
    )
  }
}
