import {readFile, stat} from 'node:fs/promises'
import {join} from 'node:path'
import {writeFileAtomic} from '../core/fs.js'
import {configHome, stateDir} from '../config/paths.js'
import {UsageError} from '../errors.js'
import {stateOf} from '../core/engine/runs.js'
import {Journal} from '../services/journal.js'
import {
  findRunbook,
  type LintProblem,
  lintRunbookText,
  listRunbooks,
  loadRunbook,
  PACKAGE_ROOT,
  type RunbookSummary,
} from './loader.js'

export interface LintResult {
  files: {file: string; ok: boolean; problems: LintProblem[]}[]
  ok: boolean
}

export async function lintRunbooks(names: string[]): Promise<LintResult> {
  const files = []
  for (const n of names) {
    const {file} = await findRunbook(n)
    const {problems} = await lintRunbookText(await readFile(file, 'utf8'), file)
    files.push({file, ok: !problems.some((p) => p.severity === 'error'), problems})
  }
  return {files, ok: files.every((f) => f.ok)}
}

export interface ListedRunbook extends RunbookSummary {
  /** Lint errors of the file: a runbook with any cannot run as it is. */
  lintErrors: number
}

/** Every runbook `runbook run` can find, each linted, so a list never offers one that cannot run. */
export async function listRunbooksLinted(): Promise<ListedRunbook[]> {
  return Promise.all(
    (await listRunbooks()).map(async (r) => {
      const text = await readFile(r.file, 'utf8').catch(() => undefined)
      const problems =
        text === undefined
          ? [undefined]
          : (await lintRunbookText(text, r.file)).problems.filter((p) => p.severity === 'error')
      return {...r, lintErrors: problems.length}
    }),
  )
}

export async function showRunbook(name: string) {
  const rb = await loadRunbook(name)
  return {
    name: rb.name,
    file: rb.file,
    metadata: rb.runbook.metadata,
    params: rb.runbook.params ?? {},
    preconditions: rb.runbook.preconditions ?? [],
    steps: rb.runbook.steps,
    stepsDigest: rb.stepsDigest,
    text: rb.text,
  }
}

/** Scaffolds a runbook from templates/runbook/scaffold.yaml into the user's runbook dir (or --dir). */
export async function newRunbook(name: string, dir?: string): Promise<{name: string; file: string}> {
  if (!/^[a-z0-9][a-z0-9-]*(\/[a-z0-9][a-z0-9-]*)*$/.test(name))
    throw new UsageError(`invalid runbook name "${name}" (lower-case, digits, "-", "/" for a folder)`)
  const file = join(dir ?? join(configHome(), 'plasmactl', 'runbooks'), `${name}.yaml`)
  if (await stat(file).catch(() => undefined)) throw new UsageError(`${file} already exists`, {file})
  const tpl = await readFile(join(PACKAGE_ROOT, 'templates', 'runbook', 'scaffold.yaml'), 'utf8')
  await writeFileAtomic(file, tpl.replaceAll('@NAME@', name), 0o644)
  return {name, file}
}

export interface TranscriptEvent {
  ts: string
  step: string
  target: string | null
  status: string
  exitCode: number | null
  failure: string | null
  error: string | null
  durationMs: number | null
  outputDigest: string | null
  output: string | null
  detail: string | null
}

export interface RunLog {
  runId: string
  runbook: string
  context: string
  by: string
  startedAt: string
  endedAt: string | null
  status: string
  params: Record<string, unknown>
  fingerprint: unknown
  events: TranscriptEvent[]
  journal: string
}

export async function readRunLog(runId: string): Promise<RunLog> {
  const j = await Journal.open(join(stateDir(), 'runbooks'), runId)
  const b = (j.begin?.data ?? {}) as Record<string, unknown>
  const end = [...j.all].reverse().find((e) => e.type === 'end')
  const events = j.all
    .filter((e) => e.type === 'step-end')
    .map((e) => {
      const d = (e.data ?? {}) as Record<string, unknown>
      return {
        ts: e.ts,
        step: e.step!,
        target: e.target ?? null,
        status: String(d.status ?? (e.ok ? 'ok' : 'failed')),
        exitCode: e.exitCode ?? null,
        failure: e.failure ?? null,
        error: e.error ?? null,
        durationMs: (d.durationMs as number) ?? null,
        outputDigest: (d.outputDigest as string) ?? null,
        output: (d.output as string) ?? null,
        detail: (d.detail as string) ?? null,
      }
    })
  return {
    runId,
    runbook: String(b.name ?? b.runbook),
    context: String(b.context),
    by: String(b.by ?? ''),
    startedAt: j.begin?.ts ?? '',
    endedAt: end?.ts ?? null,
    status: end ? String((end.data as {status?: string})?.status ?? (end.ok ? 'succeeded' : 'failed')) : stateOf(j.all),
    params: (b.params as Record<string, unknown>) ?? {},
    fingerprint: b.fingerprint,
    events,
    journal: j.path,
  }
}

/** The postmortem transcript: templates/runbook/transcript.md with {{placeholders}} filled in. */
export async function renderTranscript(log: RunLog): Promise<string> {
  const tpl = await readFile(join(PACKAGE_ROOT, 'templates', 'runbook', 'transcript.md'), 'utf8')
  const cell = (s: unknown) =>
    String(s ?? '')
      .replaceAll('|', '\\|')
      .replaceAll('\n', ' ')
  const rows = log.events.map(
    (e) =>
      `| ${e.ts} | ${cell(e.step)} | ${cell(e.target ?? '—')} | ${e.status}${e.failure ? ` (${e.failure})` : ''} | ${e.exitCode ?? '—'} | ${e.durationMs ?? '—'} | ${cell(e.error ?? e.detail ?? '')} |`,
  )
  const outputs = log.events
    .filter((e) => e.output?.trim())
    .map(
      (e) =>
        `#### ${e.step}${e.target ? ` @ ${e.target}` : ''}\n\n\`\`\`\n${e.output!.trimEnd()}\n\`\`\`\n\n${e.outputDigest}`,
    )
  const fp = log.fingerprint as {clusterId?: string; leader?: string; revision?: number; members?: string[]} | undefined
  const vars: Record<string, string> = {
    run_id: log.runId,
    runbook: log.runbook,
    context: log.context,
    by: log.by,
    started_at: log.startedAt,
    ended_at: log.endedAt ?? '(not ended)',
    status: log.status,
    params:
      Object.entries(log.params)
        .map(([k, v]) => `- \`${k}\` = ${v === null ? '*(secret, not recorded)*' : `\`${v}\``}`)
        .join('\n') || '- (none)',
    fingerprint: fp
      ? `cluster ${fp.clusterId}, leader ${fp.leader}, revision ${fp.revision}, members ${fp.members?.join(' ')}`
      : '(cluster unreachable at start)',
    steps: rows.join('\n'),
    outputs: outputs.join('\n\n') || '(no command output)',
    journal: log.journal,
  }
  return tpl.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (m, k: string) => vars[k] ?? m)
}
