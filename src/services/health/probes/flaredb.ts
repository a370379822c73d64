import {chainfireClientFor} from '../../../adapters/chainfire/index.js'
import {
  checkFlaredb,
  flaredbConfigured,
  flaredbStatus,
  flaredbSummary,
  type FlaredbHealth,
} from '../../flaredb/index.js'
import {cached, type Probe} from '../types.js'

/** FlareDB: store health (gRPC health protocol), heartbeats and region replication from ChainFire. */
export const flaredbProbe: Probe<FlaredbHealth> = {
  component: 'flaredb',
  applies: flaredbConfigured,
  async run(pc) {
    const client = cached(pc, 'flaredb:chainfire', () =>
      chainfireClientFor(pc.loaded, pc.ctx, {commandTimeoutMs: pc.timeoutMs}),
    )
    let result
    try {
      result = await checkFlaredb({loaded: pc.loaded, ctx: pc.ctx, timeoutMs: pc.timeoutMs, client})
    } catch (error) {
      const msg = `cannot read FlareDB placement from ChainFire: ${(error as Error).message}`
      return {status: 'crit', summary: 'placement unreadable', findings: [{status: 'crit', message: msg}]}
    }
    const {details, findings} = result
    return {status: flaredbStatus(findings), summary: flaredbSummary(details), findings, details}
  },
}
