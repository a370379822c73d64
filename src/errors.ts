/**
 * The one exit-code table. Every failure plasmactl reports maps to exactly one of these codes;
 * a unit test keeps them unique and the README documents them.
 */
export const EXIT = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  OPERATION_FAILED: 3,
  HEALTH_WARN: 4,
  HEALTH_CRIT: 5,
  REFUSED: 6,
  HEALTH_UNKNOWN: 7,
  INTERRUPTED: 130,
  TERMINATED: 143,
} as const

export type ExitName = keyof typeof EXIT
export type ExitCode = (typeof EXIT)[ExitName]

export const EXIT_DESCRIPTIONS: Record<ExitName, string> = {
  OK: 'success; health ok',
  INTERNAL: 'internal error (a bug: please report it with --debug output)',
  USAGE: 'bad usage or bad input: flags, config, runbook or snapshot files',
  OPERATION_FAILED: 'operation failed: remote error, connection refused, timeout',
  HEALTH_WARN: 'health degraded (warn): the cluster works but has lost redundancy or shows problems',
  HEALTH_CRIT: 'health critical: quorum lost or a component down',
  REFUSED: 'refused by a safety check (quorum, lock, preflight)',
  HEALTH_UNKNOWN:
    'health unknown: something could not be checked from here (our key, known_hosts, config or network); the cause names the file',
  INTERRUPTED: 'interrupted (Ctrl-C / SIGINT)',
  TERMINATED: 'terminated (SIGTERM: systemd stop, timeout(1), kill); the state left behind is reported as after Ctrl-C',
}

export interface ErrorDetails {
  /** Where the problem is: a file path (with line/column when known), host, endpoint or command. */
  file?: string
  line?: number
  column?: number
  host?: string
  endpoint?: string
  command?: string
  /** What the operator can do about it. */
  hint?: string
  [key: string]: unknown
}

/** Base class of every error plasmactl reports on purpose. */
export class PlasmaError extends Error {
  readonly exit: ExitName
  readonly details: ErrorDetails
  /** The partial result of the operation that failed (steps done so far): the `data` of the --json error envelope. */
  data?: unknown

  constructor(exit: ExitName, message: string, details: ErrorDetails = {}, options?: {cause?: unknown}) {
    super(message, options)
    this.name = new.target.name
    this.exit = exit
    this.details = details
  }

  get exitCode(): ExitCode {
    return EXIT[this.exit]
  }
}

/** Bad flags, bad config, bad files: the operator must fix the input. */
export class UsageError extends PlasmaError {
  constructor(message: string, details: ErrorDetails = {}, options?: {cause?: unknown}) {
    super('USAGE', message, details, options)
  }
}

/** A remote operation failed: connection refused, timeout, server error. */
export class OperationError extends PlasmaError {
  constructor(message: string, details: ErrorDetails = {}, options?: {cause?: unknown}) {
    super('OPERATION_FAILED', message, details, options)
  }
}

/** A safety check refused to go on. */
export class RefusedError extends PlasmaError {
  constructor(message: string, details: ErrorDetails = {}, options?: {cause?: unknown}) {
    super('REFUSED', message, details, options)
  }
}

/** One reason of a refusal: its text, the override that skips it (if any), and what else to do about it. */
export interface RefusalReason {
  id?: string
  message: string
  /** The flag that overrides this reason's check, e.g. `--force quorum`. */
  override?: string
  hint?: string
}

/**
 * A refusal with its reasons as a list (`details.checks`, one entry a reason) and the plan it
 * refused (`details.plan`). One reason reads as one sentence; several read as a list, one a line.
 */
export function refusal(
  headline: string,
  reasons: readonly RefusalReason[],
  extra: {plan?: unknown; hint?: string} = {},
): RefusedError {
  const message =
    reasons.length === 1
      ? `${headline}: ${reasons[0].message}`
      : `${headline}; ${reasons.length} reasons:\n${reasons.map((r) => `- ${r.message}`).join('\n')}`
  return new RefusedError(message, {
    checks: reasons,
    ...(extra.plan !== undefined ? {plan: extra.plan} : {}),
    ...(extra.hint ? {hint: extra.hint} : {}),
  })
}

/** The exit of a command a signal stopped: 143 for SIGTERM (systemd stop, timeout(1)), 130 for Ctrl-C and the rest. */
export function exitNameOfSignal(signal: NodeJS.Signals | string | undefined): 'INTERRUPTED' | 'TERMINATED' {
  return signal === 'SIGTERM' ? 'TERMINATED' : 'INTERRUPTED'
}

/**
 * Ctrl-C (a signal, or at a prompt) stopped a run: exit 130 (143 when the signal was SIGTERM); the
 * message says what state it left.
 */
export class InterruptedError extends PlasmaError {
  constructor(
    message: string,
    details: ErrorDetails = {},
    options?: {cause?: unknown; signal?: NodeJS.Signals | string},
  ) {
    super(exitNameOfSignal(options?.signal), message, details, options)
  }
}

/** Formats where an error points to: "file:line:col", "host", "endpoint". */
export function errorLocation(details: ErrorDetails): string | undefined {
  if (details.file) {
    let loc = details.file
    if (details.line !== undefined) loc += `:${details.line}`
    if (details.line !== undefined && details.column !== undefined) loc += `:${details.column}`
    return loc
  }
  return details.endpoint ?? details.host
}

/** Maps anything thrown to an exit name, so callers never invent codes. */
export function exitNameOf(err: unknown): ExitName {
  if (err instanceof PlasmaError) return err.exit
  const e = err as {name?: string; code?: string; oclif?: {exit?: number}}
  if (e?.code === 'ABORT_ERR' || e?.name === 'AbortError' || e?.name === 'ExitPromptError') return 'INTERRUPTED'
  // oclif's parser errors (unknown flag, missing arg, bad option value) are usage errors.
  if (e?.oclif?.exit === 2 || /Parse|Flag|Arg/.test(e?.name ?? '')) return 'USAGE'
  return 'INTERNAL'
}

/** Sets the process exit code without exiting, so the whole result is printed first (partial failure). */
export function setExitCode(name: ExitName): void {
  const code = EXIT[name]
  // Keep the most severe code if several parts of a run set one.
  if (process.exitCode === undefined || Number(process.exitCode) < code) process.exitCode = code
}

/** Health verdicts map to exit codes: ok 0, warn 4, crit 5, unknown (could not check) 7. */
export function exitNameForStatus(status: 'ok' | 'warn' | 'crit' | 'unknown'): ExitName {
  return status === 'ok'
    ? 'OK'
    : status === 'warn'
      ? 'HEALTH_WARN'
      : status === 'unknown'
        ? 'HEALTH_UNKNOWN'
        : 'HEALTH_CRIT'
}
