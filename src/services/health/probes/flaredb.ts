import {chainfireClientFor, type ChainfireClient} from '../../../adapters/chainfire/index.js'
import {checkFlaredb, flaredbConfigured, flaredbStatus, flaredbSummary, type FlaredbHealth} from '../../flaredb/index.js'
import type {ComponentHealth, Probe} from '../types.js'

/** FlareDB: store health (gRPC health protocol), heartbeats and region replication from ChainFire. */
export const flaredbProbe: Probe<FlaredbHealth> = {
  component: 'flaredb',
  applies: flaredbConfigured,
  async run(pc): Promise<ComponentHealth<FlaredbHealth>> {
    const started = performance.now()
    let client = pc.cache.get('flaredb:chainfire') as ChainfireClient | undefined
    if (!client) {
      client = chainfireClientFor(pc.loaded, pc.ctx)
      pc.cache.set('flaredb:chainfire', client)
    }
    let result
    try {
      result = await checkFlaredb({loaded: pc.loaded, ctx: pc.ctx, timeoutMs: pc.timeoutMs, client})
    } catch (error) {
      const msg = `cannot read FlareDB placement from ChainFire: ${(error as Error).message}`
      return {component: 'flaredb', status: 'crit', summary: 'placement unreadable', findings: [{status: 'crit', message: msg}], durationMs: Math.round(performance.now() - started)}
    }
    const {details, findings} = result
    return {component: 'flaredb', status: flaredbStatus(findings), summary: flaredbSummary(details), findings, details, durationMs: Math.round(performance.now() - started)}
  },
}
