import {checkIam, iamConfigured, iamSummary, type IamHealth} from '../../auth/index.js'
import type {ComponentHealth, Probe} from '../types.js'
import {worst} from '../types.js'

/** IAM: health endpoint, JWKS fetched and parsed, and the expiry of the CLI's own token. */
export const iamProbe: Probe<IamHealth> = {
  component: 'iam',
  applies: iamConfigured,
  async run(pc): Promise<ComponentHealth<IamHealth>> {
    const started = performance.now()
    const {details, findings} = await checkIam({loaded: pc.loaded, ctx: pc.ctx, timeoutMs: pc.timeoutMs})
    return {component: 'iam', status: worst(findings.map((f) => f.status)), summary: iamSummary(details), findings, details, durationMs: Math.round(performance.now() - started)}
  },
}
