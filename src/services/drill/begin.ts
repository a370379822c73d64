import type {ChainfireClient} from '../../adapters/chainfire/index.js'
import type {Context} from '../../config/schema.js'
import {Journal} from '../journal.js'
import {acquireClusterLock, operatorName} from '../lock.js'
import type {Reporter} from '../reporter.js'

/**
 * Starts a drill run: its journal in JOURNALDIR and the cluster lock, both given back by CLEANUPS
 * (run in order by the caller's finally, the newest first).
 */
export async function beginDrillRun(
  o: {ctx: Context; reporter: Reporter; client: ChainfireClient; cleanups: (() => Promise<unknown>)[]},
  journalDir: string,
  drill: string,
  target: string,
): Promise<{runId: string; journal: Journal}> {
  const runId = Journal.newId('drill')
  const journal = await Journal.create(journalDir, runId, {
    kind: 'drill',
    drill,
    context: o.ctx.name,
    operator: operatorName(),
    target,
  })
  o.cleanups.unshift(() => journal.close())
  const lock = await acquireClusterLock(o.ctx, {
    kind: 'drill',
    purpose: `drill ${drill}`,
    runId,
    client: o.client,
    reporter: o.reporter,
  })
  o.cleanups.unshift(() => lock.release())
  return {runId, journal}
}
