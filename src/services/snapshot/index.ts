import {writeSaveMetrics} from './metrics.js'
import {pruneSnapshots, type PruneResult, retentionFor} from './prune.js'
import {saveSnapshot, type SaveOptions, type SaveResult} from './save.js'

export {listSnapshots, verifySnapshot, type CatalogEntry, type Listing, type VerifyResult} from './catalog.js'
export {pruneSnapshots, retentionFor, type PruneResult, type Retention} from './prune.js'
export type {SaveProgress, SaveResult} from './save.js'

export interface ScheduledSaveResult extends SaveResult {
  prune?: PruneResult
  ok: boolean
}

/**
 * The cron/timer flow: save, prune when the context asks for it, and record metrics whether the
 * save worked or not (a failure streak is what alerting needs to see).
 */
export async function runSave(
  opts: SaveOptions & {metricsFile?: string; prune?: boolean},
): Promise<ScheduledSaveResult> {
  const started = performance.now()
  let result: SaveResult
  try {
    result = await saveSnapshot(opts)
  } catch (error) {
    if (opts.metricsFile)
      await writeSaveMetrics(opts.metricsFile, {
        context: opts.ctx.name,
        success: false,
        durationMs: performance.now() - started,
      })
    throw error
  }
  const ok = result.targets.every((t) => t.ok)
  let prune: PruneResult | undefined
  if (result.slot?.alreadyTaken) {
    opts.reporter.info(`already taken for this slot: ${result.name} (by ${result.slot.by})`)
  } else if (ok && (opts.prune ?? opts.ctx.snapshots?.['prune-after-save'])) {
    prune = await pruneSnapshots({
      loaded: opts.loaded,
      ctx: opts.ctx,
      targets: opts.targets,
      dryRun: false,
      force: false,
      retention: retentionFor(opts.ctx),
      reporter: opts.reporter,
    })
  }
  if (opts.metricsFile) {
    await writeSaveMetrics(opts.metricsFile, {
      context: opts.ctx.name,
      success: ok,
      durationMs: performance.now() - started,
      bytes: result.manifest.size,
      revision: result.manifest.revision,
    })
  }
  if (!result.slot?.alreadyTaken)
    opts.reporter.info(
      `snapshot ${result.name}: ${result.manifest.size} bytes, revision ${result.manifest.revision}, from ${result.manifest.sourceMember}, ${ok ? 'stored on every target' : 'FAILED on some targets'}`,
    )
  return {...result, prune, ok}
}
