/**
 * `plasmactl health` (once, not --watch) without loading oclif: the command cron, monitoring and
 * on-call engineers run most, and oclif's modules and config load are a tenth of its cold start.
 * Only plain invocations are taken here — `health` with --json, --config, --context, --timeout and
 * -o/--output wide, each at most once — and they run the command's own code (healthOnce,
 * commandReporter, successEnvelope, renderHealth) and print what oclif would print (JSON as
 * logJson writes it, text as log). Anything else, and any error (bad config, unknown context, bad
 * --timeout), goes to oclif, which says it as every command does: health only reads, so asking
 * again is safe. PLASMACTL_NO_FAST_PATH=1 sends everything to oclif.
 * Used by bin/run.js and bin/exe/main.js; test/unit/fast-health.test.ts and
 * test/integration/fast-health.test.ts hold it to oclif's output.
 */
import {format} from 'node:util'
import {successEnvelope} from '../output/envelope.js'
import {renderHealth} from '../output/health.js'
import {commandReporter} from '../output/log.js'
import {type HealthFlags, type HealthReport, healthOnce} from '../services/health/index.js'

export interface FastHealthArgs {
  json: boolean
  wide: boolean
  flags: HealthFlags
}

const VALUE_FLAGS = new Set(['--config', '--context', '--timeout', '--output'])

/** The flags of ARGV when the fast path can take it, else undefined (oclif runs). */
export function fastHealthArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): FastHealthArgs | undefined {
  // PLASMACTL_CONTENT_TYPE=json is oclif's other way to ask for JSON.
  if (argv[0] !== 'health' || env.PLASMACTL_NO_FAST_PATH || env.PLASMACTL_CONTENT_TYPE !== undefined) return undefined
  let json = false
  const values = new Map<string, string>()
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--json') {
      if (json) return undefined
      json = true
      continue
    }
    const eq = arg.indexOf('=')
    const name = arg === '-o' ? '--output' : eq > 0 ? arg.slice(0, eq) : arg
    if (!VALUE_FLAGS.has(name) || values.has(name)) return undefined
    const value = eq > 0 && arg !== '-o' ? arg.slice(eq + 1) : argv[++i]
    if (value === undefined || value === '' || value.startsWith('-')) return undefined
    values.set(name, value)
  }
  const output = values.get('--output')
  if (output !== undefined && output !== 'wide') return undefined
  return {
    json,
    wide: output === 'wide',
    flags: {
      // As oclif reads a flag's environment variable: only when it is not empty.
      config: values.get('--config') ?? (env.PLASMACTL_CONFIG || undefined),
      context: values.get('--context') ?? (env.PLASMACTL_CONTEXT || undefined),
      timeout: values.get('--timeout') ?? '3s',
    },
  }
}

/** Runs ARGV's health check and prints it; false when it is oclif's to run (nothing printed on stdout). */
export async function runFastHealth(argv: string[]): Promise<boolean> {
  const args = fastHealthArgs(argv)
  if (!args) return false
  const warnings: string[] = []
  const reporter = commandReporter({
    json: args.json,
    command: 'health',
    debug: false,
    warnings,
    text: (line) => console.error(format(line)),
  })
  let report: HealthReport
  try {
    report = await healthOnce(args.flags, reporter)
  } catch {
    process.exitCode = undefined
    return false
  }
  // oclif's log and logJson: console.log(format(text)); its JSON colouring without a theme is JSON.stringify's text.
  const exitCode = Number(process.exitCode ?? 0)
  const text = args.json
    ? JSON.stringify(successEnvelope(report, exitCode, report.status, warnings), null, 2)
    : renderHealth(report, {wide: args.wide})
  console.log(format(text))
  return true
}
