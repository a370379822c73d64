import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {writeFileAtomic} from '../../core/fs.js'
import type {Context} from '../../config/schema.js'
import {UsageError} from '../../errors.js'
import {shellQuote} from '../../shell-quote.js'
import {validateCron, validateOnCalendar} from './calendar.js'

const TEMPLATE_DIR = fileURLToPath(new URL('../../../templates/snapshot/', import.meta.url))

export interface ScheduleOptions {
  ctx: Context
  configPath: string
  bin: string
  user: string
  onCalendar: string
  cron: string
  /** Where the crontab file goes (/etc/cron.d); its name has no dots, as Debian's cron requires. */
  cronDir?: string
  metricsFile: string
  logFile: string
}

export interface RenderedFile {
  path: string
  content: string
}

/** Fills {{name}} placeholders; an unknown placeholder is a template bug, never left in the output. */
export function fill(template: string, vars: Record<string, string>, name: string): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    if (!(k in vars)) throw new UsageError(`template ${name} uses unknown placeholder {{${k}}}`)
    return vars[k]
  })
}

/** A value for a unit file: quoted for systemd's word splitting, `%` doubled so no specifier expands. */
function systemdQuote(s: string): string {
  return systemdText(/^[\w@%+=:,./-]+$/.test(s) ? s : `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`)
}

function systemdText(s: string): string {
  return s.replaceAll('%', '%%')
}

/** A word of the crontab command: shell-quoted, `%` escaped (cron turns a bare `%` into a newline). */
function cronQuote(s: string): string {
  return shellQuote(s).replaceAll('%', '\\%')
}

function check(value: string, what: string): string {
  if (/[\n\r]/.test(value)) throw new UsageError(`${what} must be one line`)
  return value
}

export async function renderSchedule(o: ScheduleOptions, dir: string): Promise<RenderedFile[]> {
  const cronSchedule = validateCron(o.cron)
  const onCalendar = await validateOnCalendar(check(o.onCalendar, '--on-calendar'))
  const unitName = `plasmactl-snapshot-${o.ctx.name.toLowerCase().replace(/[^a-z0-9-]+/g, '-')}`
  // Values that become command arguments are quoted for where they land: systemd's ExecStart
  // splitting, or the shell cron runs.
  const args = {context: o.ctx.name, config: o.configPath, bin: o.bin, metricsFile: o.metricsFile, logFile: o.logFile}
  for (const [k, v] of Object.entries(args)) check(v, k)
  const q = (f: (s: string) => string, suffix: string) =>
    Object.fromEntries(Object.entries(args).map(([k, v]) => [k + suffix, f(v)]))
  const vars = {
    ...q(systemdQuote, 'Unit'),
    ...q(cronQuote, 'Shell'),
    context: o.ctx.name,
    contextText: systemdText(o.ctx.name),
    configEnvUnit: systemdQuote(`PLASMACTL_CONFIG=${o.configPath}`),
    user: check(o.user, '--user'),
    onCalendar,
    cronSchedule,
    unitName,
    timeoutSec: '3600',
    randomDelaySec: '120',
  }
  const files: [string, string][] = [
    ['plasmactl-snapshot.service', join(dir, `${unitName}.service`)],
    ['plasmactl-snapshot.timer', join(dir, `${unitName}.timer`)],
    ['crontab', join(o.cronDir ?? dir, unitName)],
  ]
  return Promise.all(
    files.map(async ([tpl, out]) => ({
      path: out,
      content: fill(await readFile(join(TEMPLATE_DIR, tpl), 'utf8'), vars, tpl),
    })),
  )
}

export async function installSchedule(files: RenderedFile[]): Promise<void> {
  for (const f of files) await writeFileAtomic(f.path, f.content, 0o644)
}
