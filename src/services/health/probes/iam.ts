import {checkIam, iamConfigured, iamSummary, type IamHealth} from '../../auth/index.js'
import type {Probe} from '../types.js'

/** IAM: health endpoint, JWKS fetched and parsed, and the expiry of the CLI's own token. */
export const iamProbe: Probe<IamHealth> = {
  component: 'iam',
  applies: iamConfigured,
  async run(pc) {
    const {details, findings} = await checkIam({loaded: pc.loaded, ctx: pc.ctx, timeoutMs: pc.timeoutMs})
    return {summary: iamSummary(details), findings, details}
  },
}
