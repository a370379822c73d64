import {chainfireClientFor} from '../../adapters/chainfire/index.js'
import type {LoadedConfig} from '../../config/load.js'
import type {Context} from '../../config/schema.js'
import {withClusterLock} from '../lock.js'
import type {Reporter} from '../reporter.js'

export interface VmChangeOptions {
  loaded: LoadedConfig
  ctx: Context
  reporter: Reporter
  dryRun?: boolean
  /** The caller holds the cluster lock already (vm evacuate restarting each VM). */
  locked?: boolean
}

/**
 * Runs FN as a change of the cluster: under the one cluster lock (`docs/locking.md`), so two
 * operators cannot evacuate a host while a runbook restarts it; a held lock refuses (exit 6) naming
 * the holder. A dry run changes nothing and takes no lock.
 */
export async function asVmChange<T>(o: VmChangeOptions, purpose: string, fn: () => Promise<T>): Promise<T> {
  if (o.dryRun || o.locked) return fn()
  const client = chainfireClientFor(o.loaded, o.ctx)
  try {
    return await withClusterLock(o.ctx, {kind: 'vm', purpose, client, reporter: o.reporter}, fn)
  } finally {
    client.close()
  }
}
