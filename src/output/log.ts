import {appendFileSync} from 'node:fs'
import type {Reporter} from '../services/reporter.js'

export type LogFormat = 'text' | 'json'

/**
 * A reporter for unattended runs: JSON lines ({"ts","level","msg",...}) to stderr or appended to a
 * log file, so cron and systemd journals get one parseable event per line.
 */
export function createLogReporter(opts: {
  format: LogFormat
  file?: string
  debug?: boolean
  command: string
}): Reporter {
  const write = (level: string, msg: string) => {
    const line =
      opts.format === 'json' ? jsonLogLine(level, msg, opts.command) : `${level === 'info' ? '' : `${level}: `}${msg}`
    if (opts.file) appendFileSync(opts.file, line + '\n')
    else process.stderr.write(line + '\n')
  }
  return {
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    debug: (m) => {
      if (opts.debug) write('debug', m)
    },
  }
}

/** One log event as a JSON line (no newline): what --log-format json and --json write to stderr. */
export function jsonLogLine(level: string, msg: string, command: string): string {
  return JSON.stringify({ts: new Date().toISOString(), level, command, pid: process.pid, msg})
}

/**
 * The reporter of a command: progress on stderr (a JSON line each with --json, else plain text with
 * "warning: " or "debug: " before those levels), each warning also kept in WARNINGS (the envelope's
 * `warnings`). TEXT writes one plain line to stderr; REDACT hides secrets in every message.
 */
export function commandReporter(o: {
  json: boolean
  command: string
  debug: boolean
  warnings: string[]
  text: (line: string) => void
  redact?: (msg: string) => string
}): Reporter {
  const redact = o.redact ?? ((m: string) => m)
  const write = (level: 'info' | 'warn' | 'debug', msg: string) => {
    if (o.json) process.stderr.write(`${jsonLogLine(level, redact(msg), o.command)}\n`)
    else o.text(level === 'info' ? msg : `${level === 'warn' ? 'warning' : 'debug'}: ${msg}`)
  }
  return {
    info: (msg) => write('info', msg),
    warn: (msg) => {
      o.warnings.push(redact(msg))
      write('warn', msg)
    },
    debug: (msg) => {
      if (o.debug) write('debug', msg)
    },
  }
}
