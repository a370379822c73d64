import {checkPrismnet, prismnetConfigured, prismnetSummary, type PrismnetHealth} from '../../prismnet/index.js'
import type {Probe} from '../types.js'

/** PrismNet's OVN databases: reachable, a leader exists, every member connected (OVSDB _Server). */
export const prismnetProbe: Probe<PrismnetHealth> = {
  component: 'prismnet',
  applies: prismnetConfigured,
  async run(pc) {
    const {details, findings} = await checkPrismnet({loaded: pc.loaded, ctx: pc.ctx, timeoutMs: pc.timeoutMs})
    return {summary: prismnetSummary(details), findings, details}
  },
}
