import {Command, Flags, type Interfaces} from '@oclif/core'
import {errorLocation, EXIT, type ExitName, exitNameOf, exitNameOfSignal, PlasmaError, setExitCode} from './errors.js'
import {suggestCommands} from './hooks/command-not-found.js'
import {errorEnvelope, successEnvelope} from './output/envelope.js'
import {commandReporter} from './output/log.js'
import {LISTED_REFUSAL_HINT, renderRefusal} from './output/refusal.js'
import {Redactor} from './runbook/template.js'
import type {Reporter} from './services/reporter.js'

/** `-o wide`: every column of a table, instead of the ones that fit 80 columns (as kubectl). */
export const outputFlag = Flags.string({
  char: 'o',
  description: 'wide: every column (default: the columns that fit 80 columns)',
  options: ['wide'],
})

export type FlagsOf<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>
export type ArgsOf<T extends typeof Command> = Interfaces.InferredArgs<T['args']>

/**
 * Every command extends this: global connection flags defined once, the JSON envelope for results
 * and errors, and the mapping of errors to the one exit-code table.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    config: Flags.string({
      description: 'config file (default: $XDG_CONFIG_HOME/plasmactl/config.yaml)',
      env: 'PLASMACTL_CONFIG',
      helpGroup: 'GLOBAL',
    }),
    context: Flags.string({
      description: 'context to use (default: current-context)',
      env: 'PLASMACTL_CONTEXT',
      helpGroup: 'GLOBAL',
    }),
    debug: Flags.boolean({description: 'show stack traces and debug logs on stderr', helpGroup: 'GLOBAL'}),
  }

  protected flags!: FlagsOf<T>
  protected args!: ArgsOf<T>
  private redactor = new Redactor([])
  /** Warnings reported since the last envelope was written: they fill its `warnings`. */
  private warnings: string[] = []

  /** From now on these values are replaced by *** in everything the command writes: results, progress, errors, --json, --debug. */
  protected redactOutput(secrets: string[]): void {
    this.redactor = new Redactor(secrets)
  }

  private redact(message: string): string {
    return typeof message === 'string' ? this.redactor.text(message) : message
  }

  public override log(message = '', ...args: unknown[]): void {
    super.log(this.redact(message), ...args)
  }

  public override logToStderr(message = '', ...args: unknown[]): void {
    super.logToStderr(this.redact(message), ...args)
  }

  public override logJson(json: unknown): void {
    if (this.streams()) process.stdout.write(`${JSON.stringify(this.redactor.deep(json))}\n`)
    else super.logJson(this.redactor.deep(json))
  }

  /**
   * The human form of run()'s result, printed to stdout unless --json (which prints the envelope
   * instead). Commands override it rather than guarding with `if (!this.jsonEnabled())`.
   */
  protected render(_result: unknown): Promise<string | undefined> | string | undefined {
    return undefined
  }

  public override async _run<R>(): Promise<R> {
    const result = await super._run<R>()
    if (result !== undefined && !this.jsonEnabled()) {
      const text = await this.render(result)
      if (text !== undefined) this.log(text)
    }
    return result
  }

  /** A stream prints with --json one compact envelope per line (`emitEnvelope`), the last one being run()'s result. */
  protected streams(): boolean {
    return false
  }

  /** One line of a --json stream: an envelope around `data` carrying the warnings reported since the previous line. */
  protected emitEnvelope(data: unknown, status: string, exit: ExitName = 'OK'): void {
    this.logJson(successEnvelope(data, EXIT[exit], status, this.takeWarnings()))
  }

  /**
   * For a command that runs until stopped (a watch): Ctrl-C or SIGTERM (systemd stop, timeout(1))
   * aborts SIGNAL; `stoppedBy` names the exit that signal calls for (130, or 143 for SIGTERM) and
   * the end status ("interrupted" / "terminated"); `dispose` stops listening.
   */
  protected stopOnSignal(): {
    signal: AbortSignal
    stoppedBy: () => {exit: ExitName; status: 'interrupted' | 'terminated'}
    dispose: () => void
  } {
    const ac = new AbortController()
    let received: NodeJS.Signals | undefined
    const stop = (sig: NodeJS.Signals) => {
      received ??= sig
      ac.abort()
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
    return {
      signal: ac.signal,
      stoppedBy: () => {
        const exit = exitNameOfSignal(received)
        return {exit, status: exit === 'TERMINATED' ? 'terminated' : 'interrupted'}
      },
      dispose: () => {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
      },
    }
  }

  private takeWarnings(): string[] {
    return this.warnings.splice(0)
  }

  public override async init(): Promise<void> {
    await super.init()
    const {args, flags} = await this.parse({
      flags: this.ctor.flags,
      baseFlags: (super.ctor as typeof BaseCommand).baseFlags,
      enableJsonFlag: this.ctor.enableJsonFlag,
      args: this.ctor.args,
      strict: this.ctor.strict,
    })
    this.flags = flags as FlagsOf<T>
    this.args = args as ArgsOf<T>
  }

  /**
   * Progress and warnings go to stderr so stdout carries only the result; with --json as JSON lines
   * ({"ts","level","command","pid","msg"}), and warnings also fill the envelope's `warnings`.
   */
  protected reporter(): Reporter {
    return commandReporter({
      json: this.jsonEnabled(),
      command: this.id?.replaceAll(':', ' ') ?? '',
      debug: Boolean(this.flags?.debug),
      warnings: this.warnings,
      text: (line) => this.logToStderr(line),
      redact: (msg) => this.redact(msg),
    })
  }

  protected collectWarnings(reporter: Reporter): Reporter {
    return {
      ...reporter,
      warn: (msg) => {
        this.warnings.push(this.redact(msg))
        reporter.warn(msg)
      },
    }
  }

  protected override toSuccessJson(result: unknown): unknown {
    const exitCode = Number(process.exitCode ?? 0)
    const status = (result as {status?: unknown})?.status
    return successEnvelope(
      result,
      exitCode,
      typeof status === 'string' ? status : exitCode === 0 ? 'ok' : 'error',
      this.takeWarnings(),
    )
  }

  protected override async catch(
    err: Error & {exitCode?: number; oclif?: {exit?: number}; code?: string},
  ): Promise<unknown> {
    // oclif's own exit (this.exit / help) passes through untouched.
    if (err.code === 'EEXIT' && err.oclif?.exit !== undefined) throw err
    const name = exitNameOf(err)
    process.exitCode = undefined
    setExitCode(name)
    if (this.jsonEnabled()) {
      this.logJson(errorEnvelope(err, this.takeWarnings()))
      return
    }
    const flagHint = unknownFlagHint(
      err,
      {...this.ctor.flags, ...(this.ctor as typeof BaseCommand).baseFlags},
      this.id?.replaceAll(':', ' ') ?? '',
    )
    const loc = err instanceof PlasmaError ? errorLocation(err.details) : undefined
    // Our errors are one line; oclif's parser errors carry the missing argument on later lines.
    const message = (err instanceof PlasmaError ? err.message?.split('\n')[0] : err.message?.trimEnd()) || String(err)
    this.logToStderr(`plasmactl: error: ${loc && !message.includes(loc) ? `${loc}: ` : ''}${message}`)
    if (err instanceof PlasmaError) {
      const problems = err.details.problems as
        {file: string; line: number; column: number; path: string; message: string}[] | undefined
      if (problems && problems.length > 1) {
        for (const p of problems.slice(1))
          this.logToStderr(`  ${p.file}:${p.line}:${p.column}: ${p.path ? `${p.path}: ` : ''}${p.message}`)
      }
      if (typeof err.details.more === 'number' && err.details.more > 0)
        this.logToStderr(`  … and ${err.details.more} more`)
      const refusal = renderRefusal(err.details)
      for (const l of refusal) this.logToStderr(l)
      const listed = Array.isArray(err.details.checks) && err.details.checks.length > 1 && refusal.length > 0
      if (listed) this.logToStderr(`hint: ${LISTED_REFUSAL_HINT}`)
      else if (err.details.hint) this.logToStderr(`hint: ${err.details.hint}`)
    } else if (flagHint) {
      this.logToStderr(`hint: ${flagHint}`)
    } else if (name === 'USAGE') {
      this.logToStderr(`hint: see \`plasmactl ${this.id?.replaceAll(':', ' ') ?? ''} --help\``)
    }
    if (this.flags?.debug || process.argv.includes('--debug')) {
      if (err.stack) this.logToStderr(err.stack)
    } else if (name === 'INTERNAL') {
      this.logToStderr('hint: this is a bug; run again with --debug for the stack trace and report it')
    }
    return undefined
  }
}

/** "did you mean --watch?" for an unknown flag (oclif's NonExistentFlagsError), from the command's own flags. */
function unknownFlagHint(
  err: unknown,
  flags: Record<string, {char?: string}> | undefined,
  command: string,
): string | undefined {
  const e = err as {constructor?: {name?: string}; flags?: unknown}
  const typed =
    e?.constructor?.name === 'NonExistentFlagsError' && Array.isArray(e.flags) ? (e.flags as string[]) : undefined
  if (!typed?.length || !flags) return undefined
  const names = [...Object.keys(flags), 'json', 'help']
  const hints = typed.map((t) => {
    const best = suggestCommands(t.replace(/^-+/, '').split('=')[0], names, 1)[0]
    return best ? `did you mean --${best} instead of ${t}?` : undefined
  })
  const found = hints.filter(Boolean)
  return found.length > 0 ? `${found.join(' ')} (see \`plasmactl ${command} --help\`)` : undefined
}
