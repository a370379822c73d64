import {createPublicKey} from 'node:crypto'
import {HttpError, httpGet, httpGetJson} from '../../adapters/http/index.js'
import {run} from '../../adapters/exec/index.js'
import {configPath} from '../../config/context.js'
import type {LoadedConfig} from '../../config/load.js'
import type {Context} from '../../config/schema.js'
import {OperationError} from '../../errors.js'
import type {Finding} from '../health/types.js'

/** The variable that overrides every other source of the CLI's bearer token. */
export const TOKEN_ENV = 'PLASMACTL_TOKEN'
/** Warn when the token expires sooner than this. */
export const EXPIRY_WARN_MS = 60 * 60 * 1000

export interface ResolvedToken {
  token: string
  source: 'env' | 'config' | 'token-command'
  /** Expiry the token-command reported (kubectl exec credential style), when it did. */
  expiresAt?: string
}

/**
 * The CLI's own credentials, first found wins: $PLASMACTL_TOKEN, the context's iam.token, then
 * iam.token-command (run with sh -c; prints the token, or JSON {token} / {access_token} / kubectl's
 * ExecCredential {status: {token, expirationTimestamp}}). Undefined when none is configured.
 */
export async function resolveToken(
  ctx: Context,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedToken | undefined> {
  if (env[TOKEN_ENV]) return {token: env[TOKEN_ENV]!.trim(), source: 'env'}
  if (ctx.iam?.token) return {token: ctx.iam.token, source: 'config'}
  const cmd = ctx.iam?.['token-command']
  if (!cmd) return undefined
  const r = await run('/bin/sh', ['-c', cmd], {timeoutMs: 15_000})
  if (r.exitCode !== 0) {
    throw new OperationError(
      `iam.token-command failed (exit ${r.exitCode ?? r.signal}): ${r.stderr.trim().split('\n').slice(-1)[0] || 'no output'}`,
      {
        command: cmd,
        hint: 'if it talks to IAM, IAM may be down: check `plasmactl health --component iam`',
      },
    )
  }
  const out = r.stdout.trim()
  if (out.startsWith('{')) {
    try {
      const j = JSON.parse(out) as {
        token?: string
        access_token?: string
        status?: {token?: string; expirationTimestamp?: string}
        expiresAt?: string
      }
      const token = j.status?.token ?? j.token ?? j.access_token
      if (token) return {token, source: 'token-command', expiresAt: j.status?.expirationTimestamp ?? j.expiresAt}
    } catch {
      // Not JSON after all: fall through to the raw-token check.
    }
  }
  if (!out || /\s/.test(out)) throw new OperationError('iam.token-command printed no usable token', {command: cmd})
  return {token: out, source: 'token-command'}
}

export interface DecodedJwt {
  header: Record<string, unknown>
  payload: Record<string, unknown>
}

/** Decodes a JWT without verifying it: for display and expiry warnings only, never for trust. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.')
  if (parts.length !== 3) return undefined
  try {
    const dec = (s: string) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Record<string, unknown>
    return {header: dec(parts[0]), payload: dec(parts[1])}
  } catch {
    return undefined
  }
}

export interface TokenInfo {
  source: ResolvedToken['source']
  jwt: boolean
  algorithm: string | null
  keyId: string | null
  subject: string | null
  issuer: string | null
  audience: string | string[] | null
  issuedAt: string | null
  expiresAt: string | null
  expiresInMs: number | null
  expired: boolean
  /** The kid appears in IAM's JWKS (null: not checked). */
  keyKnown: boolean | null
}

export function tokenInfo(t: ResolvedToken, now = Date.now()): TokenInfo {
  const d = decodeJwt(t.token)
  const p = d?.payload ?? {}
  const exp = typeof p.exp === 'number' ? p.exp * 1000 : t.expiresAt ? Date.parse(t.expiresAt) : Number.NaN
  const iat = typeof p.iat === 'number' ? new Date(p.iat * 1000).toISOString() : null
  const str = (v: unknown) => (typeof v === 'string' ? v : null)
  return {
    source: t.source,
    jwt: Boolean(d),
    algorithm: str(d?.header.alg),
    keyId: str(d?.header.kid),
    subject: str(p.sub),
    issuer: str(p.iss),
    audience: typeof p.aud === 'string' || Array.isArray(p.aud) ? (p.aud as string | string[]) : null,
    issuedAt: iat,
    expiresAt: Number.isNaN(exp) ? null : new Date(exp).toISOString(),
    expiresInMs: Number.isNaN(exp) ? null : exp - now,
    expired: !Number.isNaN(exp) && exp <= now,
    keyKnown: null,
  }
}

export function tokenFindings(info: TokenInfo): Finding[] {
  const f: Finding[] = []
  const mins = (ms: number) => `${Math.round(ms / 60_000)} min`
  if (!info.jwt) f.push({status: 'ok', message: `the token (from ${info.source}) is not a JWT; its expiry is unknown`})
  if (info.expired)
    f.push({
      status: 'crit',
      message: `the CLI's token (from ${info.source}) expired at ${info.expiresAt}: authenticated calls will be rejected; get a new one`,
    })
  else if (info.expiresInMs !== null && info.expiresInMs < EXPIRY_WARN_MS)
    f.push({
      status: 'warn',
      message: `the CLI's token (from ${info.source}) expires in ${mins(info.expiresInMs)} (at ${info.expiresAt}): renew it before a long operation`,
    })
  if (info.keyKnown === false)
    f.push({
      status: 'warn',
      message: `the token's signing key ${info.keyId} is not in IAM's JWKS: IAM will probably reject it`,
    })
  return f
}

export interface JwksKey {
  kid: string | null
  kty: string
  alg: string | null
  use: string | null
  valid: boolean
  error: string | null
}

export interface IamHealth {
  url: string
  healthUrl: string
  jwksUrl: string
  up: boolean
  healthError: string | null
  healthLatencyMs: number | null
  jwks: {ok: boolean; keys: JwksKey[]; error: string | null; latencyMs: number | null}
  token: TokenInfo | null
  tokenError: string | null
}

export function iamConfigured(ctx: Context): boolean {
  return Boolean(ctx.iam?.url)
}

function iamUrls(ctx: Context) {
  const base = ctx.iam!.url.replace(/\/+$/, '')
  return {
    url: base,
    healthUrl: `${base}${ctx.iam!['health-path'] ?? '/health'}`,
    jwksUrl: ctx.iam!['jwks-url'] ?? `${base}/.well-known/jwks.json`,
  }
}

/** Parses a JWKS document; every key is imported with node:crypto to prove it is usable. */
export function parseJwks(doc: unknown): JwksKey[] {
  const keys = (doc as {keys?: unknown})?.keys
  if (!Array.isArray(keys)) throw new Error('no "keys" array')
  return keys.map((k: Record<string, unknown>) => {
    const base = {
      kid: typeof k.kid === 'string' ? k.kid : null,
      kty: String(k.kty ?? '?'),
      alg: typeof k.alg === 'string' ? k.alg : null,
      use: typeof k.use === 'string' ? k.use : null,
    }
    try {
      createPublicKey({key: k as import('node:crypto').JsonWebKey, format: 'jwk'})
      return {...base, valid: true, error: null}
    } catch (error) {
      return {...base, valid: false, error: (error as Error).message}
    }
  })
}

export interface IamOptions {
  loaded?: LoadedConfig
  ctx: Context
  timeoutMs?: number
  env?: NodeJS.ProcessEnv
}

export async function checkIam(opts: IamOptions): Promise<{details: IamHealth; findings: Finding[]}> {
  const {url, healthUrl, jwksUrl} = iamUrls(opts.ctx)
  const t = opts.ctx.iam?.tls
  const p = (x?: string) => (x && opts.loaded ? configPath(opts.loaded, x) : x)
  const tls = t ? {ca: p(t.ca), cert: p(t.cert), key: p(t.key), serverName: t['server-name']} : undefined
  const timeoutMs = opts.timeoutMs ?? 3000
  const [health, jwks, token] = await Promise.all([
    httpGet(healthUrl, {timeoutMs, tls}).then(
      (r) => ({ok: true as const, latencyMs: r.latencyMs}),
      (error: Error) => ({ok: false as const, error}),
    ),
    httpGetJson(jwksUrl, {timeoutMs, tls}).then(
      (r) => ({ok: true as const, doc: r.value, latencyMs: r.response.latencyMs}),
      (error: Error) => ({ok: false as const, error}),
    ),
    resolveToken(opts.ctx, opts.env).then(
      (v) => ({v}),
      (error: Error) => ({error}),
    ),
  ])
  const details: IamHealth = {
    url,
    healthUrl,
    jwksUrl,
    up: health.ok,
    healthError: health.ok ? null : health.error.message,
    healthLatencyMs: health.ok ? health.latencyMs : null,
    jwks: {ok: false, keys: [], error: null, latencyMs: null},
    token: null,
    tokenError: 'error' in token ? token.error.message : null,
  }
  if (jwks.ok) {
    try {
      details.jwks = {ok: true, keys: parseJwks(jwks.doc), error: null, latencyMs: jwks.latencyMs}
    } catch (error) {
      details.jwks = {
        ok: false,
        keys: [],
        error: `JWKS at ${jwksUrl} is invalid: ${(error as Error).message}`,
        latencyMs: jwks.latencyMs,
      }
    }
  } else details.jwks.error = jwks.error.message
  if ('v' in token && token.v) {
    details.token = tokenInfo(token.v)
    if (details.jwks.ok && details.token.keyId)
      details.token.keyKnown = details.jwks.keys.some((k) => k.kid === details.token!.keyId)
  }
  return {details, findings: iamFindings(details, health.ok ? undefined : health.error)}
}

function iamFindings(d: IamHealth, healthError?: Error): Finding[] {
  const f: Finding[] = []
  if (!d.up) {
    const down = healthError instanceof HttpError && healthError.down
    f.push({
      status: 'crit',
      target: d.url,
      message: `IAM is ${down ? 'DOWN' : 'unhealthy'} (${d.healthError}): every authenticated operation fails until it is back (no server-side retries; the outage cascades)`,
    })
  }
  if (!d.jwks.ok) {
    if (d.up)
      f.push({
        status: 'crit',
        target: d.jwksUrl,
        message: `JWKS unavailable: ${d.jwks.error}: services cannot validate tokens`,
      })
  } else {
    const valid = d.jwks.keys.filter((k) => k.valid)
    if (valid.length === 0)
      f.push({status: 'crit', target: d.jwksUrl, message: 'JWKS has no usable key: services cannot validate any token'})
    for (const k of d.jwks.keys.filter((x) => !x.valid))
      f.push({status: 'warn', target: d.jwksUrl, message: `JWKS key ${k.kid ?? '(no kid)'} is unusable: ${k.error}`})
  }
  if (d.tokenError) f.push({status: 'warn', message: `cannot get the CLI's token: ${d.tokenError}`})
  if (d.token) f.push(...tokenFindings(d.token))
  return f.sort((a, b) => (a.status === b.status ? 0 : a.status === 'crit' ? -1 : 1))
}

export function iamSummary(d: IamHealth): string {
  if (!d.up) return `DOWN: ${d.healthError}`
  const tok = d.token
    ? d.token.expired
      ? ', token EXPIRED'
      : d.token.expiresInMs !== null
        ? `, token expires in ${Math.round(d.token.expiresInMs / 60_000)} min`
        : ''
    : ''
  return `up, JWKS ${d.jwks.ok ? `${d.jwks.keys.filter((k) => k.valid).length} key(s)` : 'UNAVAILABLE'}${tok}`
}
