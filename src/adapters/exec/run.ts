import {access, constants, stat} from 'node:fs/promises'
import {delimiter, join} from 'node:path'
import {execa} from 'execa'
import {OperationError} from '../../errors.js'

export interface RunOptions {
  cwd?: string
  /** Added to the current environment. */
  env?: Record<string, string | undefined>
  /** Written to the child's stdin (default: none, stdin is /dev/null). */
  input?: string
  timeoutMs?: number
}

export interface RunResult {
  command: string
  stdout: string
  stderr: string
  /** undefined when the process was killed by a signal. */
  exitCode: number | undefined
  signal: string | undefined
}

function shown(file: string, args: readonly string[]): string {
  return [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(' ')
}

/**
 * Runs a local program without a shell. A non-zero exit is a result, not an exception; only a
 * failure to start it (or a timeout) throws, as OperationError naming the command.
 */
export async function run(file: string, args: readonly string[] = [], opts: RunOptions = {}): Promise<RunResult> {
  const command = shown(file, args)
  const result = await execa(file, args, {
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: true,
    input: opts.input,
    stdin: opts.input === undefined ? 'ignore' : undefined,
    timeout: opts.timeoutMs,
    reject: false,
    stripFinalNewline: false,
  })
  if (result.timedOut) {
    throw new OperationError(`${command} timed out after ${opts.timeoutMs} ms`, {command})
  }
  if (result.failed && result.exitCode === undefined && !result.signal) {
    const cause = result.cause as NodeJS.ErrnoException | undefined
    throw new OperationError(
      `cannot run ${command}: ${cause?.code === 'ENOENT' ? 'program not found' : (cause?.message ?? result.shortMessage)}`,
      {command},
      {cause},
    )
  }
  return {
    command,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    exitCode: result.exitCode,
    signal: result.signal,
  }
}

/** Like run(), but a non-zero exit throws OperationError with the command's stderr. */
export async function runChecked(
  file: string,
  args: readonly string[] = [],
  opts: RunOptions = {},
): Promise<RunResult> {
  const r = await run(file, args, opts)
  if (r.exitCode !== 0) {
    const why = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join('; ')
    throw new OperationError(`${r.command} failed (${r.signal ?? `exit ${r.exitCode}`})${why ? `: ${why}` : ''}`, {
      command: r.command,
    })
  }
  return r
}

/** Finds an executable on PATH, also looking in the sbin directories (sshd, useradd live there). */
export async function which(
  name: string,
  extraDirs: readonly string[] = ['/usr/local/sbin', '/usr/sbin', '/sbin'],
): Promise<string | undefined> {
  if (name.includes('/')) return (await isExecutable(name)) ? name : undefined
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...extraDirs]
  for (const dir of dirs) {
    const p = join(dir, name)
    if (await isExecutable(p)) return p
  }
  return undefined
}

async function isExecutable(p: string): Promise<boolean> {
  try {
    await access(p, constants.X_OK)
    return (await stat(p)).isFile()
  } catch {
    return false
  }
}
