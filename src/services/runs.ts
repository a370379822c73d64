import {readdir, readFile} from 'node:fs/promises'
import {hostname} from 'node:os'
import {join} from 'node:path'
import {
  listRunJournals,
  openRun,
  type RunKind,
  type RunState,
  type RunSummary,
  type RunTranscript,
  transcriptOf,
} from '../core/engine/runs.js'
import type {LoadedConfig} from '../config/load.js'
import {stateDir} from '../config/paths.js'
import type {Context} from '../config/schema.js'
import {UsageError} from '../errors.js'
import {runRunbook, type RunOptions} from '../runbook/executor.js'
import {processAlive} from './lock.js'
import {resumeNodeRun} from './node/resume.js'
import type {Reporter} from './reporter.js'
import {restoreCluster} from './snapshot/restore.js'

export {RUN_KINDS} from '../core/engine/runs.js'
export type {RunKind, RunState, RunSummary, RunTranscript}

/** Run ids whose runner is alive on this host: it holds a local lock file in that run's name. */
async function runningIds(): Promise<Set<string>> {
  const dir = join(stateDir(), 'locks')
  const ids = new Set<string>()
  for (const f of (await readdir(dir).catch(() => [] as string[])).filter((x) => x.endsWith('.lock'))) {
    try {
      const h = JSON.parse(await readFile(join(dir, f), 'utf8')) as {
        runId?: string
        host?: string
        pid?: number
        pidStart?: string
      }
      if (h.runId && h.host === hostname() && typeof h.pid === 'number' && processAlive(h.pid, h.pidStart))
        ids.add(h.runId)
    } catch {
      // A lock file being written or broken: its run shows its journal state.
    }
  }
  return ids
}

/** Every run of every kind (runbook, node, restore, drill), oldest first; filtered by kind/context/state. */
export async function listRuns(
  filter: {kind?: RunKind; context?: string; state?: RunState} = {},
): Promise<RunSummary[]> {
  const [runs, running] = await Promise.all([listRunJournals(stateDir()), runningIds()])
  for (const r of runs) if (running.has(r.id) && r.state !== 'succeeded') r.state = 'running'
  return runs.filter(
    (r) =>
      (!filter.kind || r.kind === filter.kind) &&
      (!filter.context || r.context === filter.context) &&
      (!filter.state || r.state === filter.state),
  )
}

/** A run's transcript; a drill's also links its report directory. */
export type ShownRun = RunTranscript & {reportDir?: string}

/** The transcript of run ID, whatever its kind. */
export async function showRun(id: string): Promise<ShownRun> {
  const {kind, journal} = await openRun(stateDir(), id)
  const t: ShownRun = transcriptOf(journal, kind)
  if (t.state !== 'succeeded' && (await runningIds()).has(id)) t.state = 'running'
  const reportDir = [...journal.all].reverse().find((e) => e.type === 'end')?.data?.reportDir
  if (kind === 'drill' && typeof reportDir === 'string') t.reportDir = reportDir
  return t
}

/** The context a run ran against (a resume defaults to it). */
export async function contextOfRun(id: string): Promise<string> {
  return (await showRun(id)).context
}

export interface ResumeRunResult {
  runId: string
  kind: RunKind
  /** nothing-to-do: the run had finished; nothing was run or checked again. */
  outcome: 'resumed' | 'nothing-to-do'
  state: RunState
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  result: any
}

export interface ResumeRunOptions {
  id: string
  loaded: LoadedConfig
  ctx: Context
  reporter: Reporter
  /** Options of a runbook resume (flags of `runbook resume`). */
  runbook: RunOptions
  timeoutMs: number
  graceMs: number
}

/** Continues run ID with the engine of its kind; a finished run is left alone and said so. */
export async function resumeRun(o: ResumeRunOptions): Promise<ResumeRunResult> {
  const t = await showRun(o.id)
  if (t.state === 'succeeded') {
    o.reporter.info(`run ${o.id} (${t.kind}: ${t.what}) already finished at ${t.ended}; nothing to do`)
    return {runId: o.id, kind: t.kind, outcome: 'nothing-to-do', state: t.state, result: null}
  }
  if (t.state === 'running')
    throw new UsageError(`run ${o.id} is still running (its runner holds the lock)`, {
      hint: 'wait for it, or Ctrl-C it first',
    })
  if (t.context !== o.ctx.name)
    throw new UsageError(`run ${o.id} ran against context "${t.context}", not "${o.ctx.name}"`, {
      hint: `pass --context ${t.context}`,
    })
  switch (t.kind) {
    case 'runbook': {
      const result = await runRunbook({...o.runbook, resume: o.id, name: undefined, dryRun: false})
      return {runId: o.id, kind: t.kind, outcome: 'resumed', state: 'succeeded', result}
    }
    case 'node': {
      const result = await resumeNodeRun({
        loaded: o.loaded,
        ctx: o.ctx,
        reporter: o.reporter,
        runId: o.id,
        timeoutMs: o.timeoutMs,
        graceMs: o.graceMs,
      })
      return {runId: o.id, kind: t.kind, outcome: 'resumed', state: 'succeeded', result}
    }
    case 'restore': {
      const {journal} = await openRun(stateDir(), o.id)
      const snapshot = String(journal.begin?.data?.snapshot ?? '')
      const result = await restoreCluster({
        loaded: o.loaded,
        ctx: o.ctx,
        reporter: o.reporter,
        idOrFile: snapshot,
        dryRun: false,
        resume: o.id,
        confirm: async () => true,
        waitMs: o.timeoutMs,
      })
      return {runId: o.id, kind: t.kind, outcome: 'resumed', state: 'succeeded', result}
    }
    default:
      throw new UsageError(`run ${o.id} is a ${t.kind} run: it cannot be resumed; start a new one`, {
        hint: 'see `plasmactl drill run --help`',
      })
  }
}
