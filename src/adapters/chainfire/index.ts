import {chainfireEndpoints, chainfireTimeouts, configPath} from '../../config/context.js'
import type {LoadedConfig} from '../../config/load.js'
import type {Context} from '../../config/schema.js'
import {ChainfireClient} from './client.js'

export {ChainfireCallError, ChainfireClient, type EndpointSpec, type MembershipRefusal} from './client.js'
export type {AlarmType, Member, StatusResponse} from './codec.js'

/** Builds the ChainFire client for a context: endpoints, TLS files (relative to the config file), timeouts. */
export function chainfireClientFor(
  loaded: LoadedConfig,
  ctx: Context,
  overrides: {commandTimeoutMs?: number; token?: string} = {},
): ChainfireClient {
  const tls = ctx.chainfire?.tls
  const timeouts = chainfireTimeouts(ctx)
  const endpoints = chainfireEndpoints(ctx).map(({name, url}) => ({name, url}))
  // The CLI's bearer token (IAM): only over TLS, since grpc-js refuses call credentials on plaintext channels.
  const secure = Boolean(tls) || endpoints.some((e) => e.url.startsWith('https:'))
  const token = secure ? (overrides.token ?? (process.env.PLASMACTL_TOKEN || ctx.iam?.token)) : undefined
  return new ChainfireClient({
    endpoints,
    token,
    tls: tls
      ? {
          ca: tls.ca ? configPath(loaded, tls.ca) : undefined,
          cert: tls.cert ? configPath(loaded, tls.cert) : undefined,
          key: tls.key ? configPath(loaded, tls.key) : undefined,
          serverName: tls['server-name'],
        }
      : undefined,
    commandTimeoutMs: overrides.commandTimeoutMs ?? timeouts.commandMs,
  })
}
