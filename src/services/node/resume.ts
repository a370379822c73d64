import type {LoadedConfig} from '../../config/load.js'
import type {Context} from '../../config/schema.js'
import {RefusedError, UsageError} from '../../errors.js'
import {Journal} from '../journal.js'
import type {Reporter} from '../reporter.js'
import {addNode} from './add.js'
import {nodeRunsDir} from './common.js'
import {removeNode} from './remove.js'
import {replaceNode} from './replace.js'

export interface ResumedRun {
  runId: string
  op: 'remove' | 'add' | 'replace'
  skipped: string[]
  completed: string[]
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  result: any
}

/** Continues a node run from its journal: the operation and its nodes come from the journal, not from flags. */
export async function resumeNodeRun(opts: {
  loaded: LoadedConfig
  ctx: Context
  reporter: Reporter
  runId: string
  timeoutMs: number
  graceMs: number
}): Promise<ResumedRun> {
  const j = await Journal.open(nodeRunsDir(), opts.runId)
  const b = j.begin?.data ?? {}
  if (b.context !== opts.ctx.name)
    throw new UsageError(
      `run ${opts.runId} belongs to context "${String(b.context)}", not "${opts.ctx.name}" (pass --context ${String(b.context)})`,
    )
  const no = async () => {
    throw new RefusedError('a resumed run is never re-confirmed')
  }
  const base = {
    loaded: opts.loaded,
    ctx: opts.ctx,
    reporter: opts.reporter,
    dryRun: false,
    force: [],
    timeoutMs: opts.timeoutMs,
    resume: opts.runId,
  }
  if (b.op === 'remove') {
    const r = await removeNode({
      ...base,
      node: String(b.node),
      wipeData: false,
      graceMs: opts.graceMs,
      confirm: no,
      confirmWipe: no,
    })
    return {runId: opts.runId, op: 'remove', skipped: r.skipped, completed: r.completed, result: r}
  }
  if (b.op === 'add') {
    const r = await addNode({...base, node: String(b.node), confirm: no})
    return {runId: opts.runId, op: 'add', skipped: r.skipped, completed: r.completed, result: r}
  }
  if (b.op === 'replace') {
    const r = await replaceNode({...base, old: String(b.old), new: String(b.new), graceMs: opts.graceMs, confirm: no})
    return {runId: opts.runId, op: 'replace', skipped: r.skipped, completed: r.completed, result: r}
  }
  throw new UsageError(`run ${opts.runId} is not a node operation (op ${String(b.op)})`)
}
