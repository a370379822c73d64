import {checkPrismnet, prismnetConfigured, prismnetSummary, type PrismnetHealth} from '../../prismnet/index.js'
import type {ComponentHealth, Probe} from '../types.js'
import {worst} from '../types.js'

/** PrismNet's OVN databases: reachable, a leader exists, every member connected (OVSDB _Server). */
export const prismnetProbe: Probe<PrismnetHealth> = {
  component: 'prismnet',
  applies: prismnetConfigured,
  async run(pc): Promise<ComponentHealth<PrismnetHealth>> {
    const started = performance.now()
    const {details, findings} = await checkPrismnet({loaded: pc.loaded, ctx: pc.ctx, timeoutMs: pc.timeoutMs})
    return {component: 'prismnet', status: worst(findings.map((f) => f.status)), summary: prismnetSummary(details), findings, details, durationMs: Math.round(performance.now() - started)}
  },
}
