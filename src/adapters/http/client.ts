import {request as httpRequest} from 'node:http'
import {request as httpsRequest} from 'node:https'
import {OperationError} from '../../errors.js'
import {withRetry} from '../../core/retry.js'
import {readTlsFile} from '../tls-files.js'

/** HTTP(S) GETs for health endpoints and JWKS: bearer token attached, transient failures retried. */

export interface HttpTls {
  ca?: string
  cert?: string
  key?: string
  serverName?: string
}

export interface HttpGetOptions {
  timeoutMs?: number
  tls?: HttpTls
  /** Bearer token (IAM) sent as Authorization. */
  token?: string
  retries?: number
  /** Largest body accepted (default 1 MiB). */
  maxBytes?: number
}

export interface HttpResponse {
  url: string
  status: number
  body: string
  latencyMs: number
}

export class HttpError extends OperationError {
  /** Worth retrying: reset, timeout, 502/503/504. */
  readonly transient: boolean
  /** Nothing answers there (refused, unreachable, no DNS): the service is down or the URL wrong. */
  readonly down: boolean
  readonly status?: number
  constructor(url: string, message: string, o: {transient: boolean; down?: boolean; status?: number; cause?: unknown}) {
    super(`GET ${url}: ${message}`, {endpoint: url}, {cause: o.cause})
    this.transient = o.transient
    this.down = o.down ?? false
    this.status = o.status
  }
}

function getOnce(url: string, opts: HttpGetOptions): Promise<HttpResponse> {
  const u = new URL(url)
  const started = performance.now()
  const timeoutMs = opts.timeoutMs ?? 3000
  const maxBytes = opts.maxBytes ?? 1024 * 1024
  const headers: Record<string, string> = {accept: 'application/json'}
  if (opts.token) headers.authorization = `Bearer ${opts.token}`
  const tls =
    u.protocol === 'https:'
      ? {
          ca: readTlsFile(opts.tls?.ca),
          cert: readTlsFile(opts.tls?.cert),
          key: readTlsFile(opts.tls?.key),
          servername: opts.tls?.serverName,
        }
      : {}
  return new Promise((resolve, reject) => {
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, {method: 'GET', headers, ...tls}, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (d: Buffer) => {
        size += d.length
        if (size > maxBytes)
          req.destroy(new HttpError(url, `response larger than ${maxBytes} bytes`, {transient: false}))
        else chunks.push(d)
      })
      res.on('end', () => {
        const status = res.statusCode ?? 0
        const body = Buffer.concat(chunks).toString('utf8')
        if (status >= 200 && status < 300)
          resolve({url, status, body, latencyMs: Math.round(performance.now() - started)})
        else
          reject(
            new HttpError(url, `HTTP ${status}${body ? `: ${body.trim().slice(0, 200)}` : ''}`, {
              transient: [502, 503, 504].includes(status),
              status,
            }),
          )
      })
      res.on('error', (err) => reject(new HttpError(url, err.message, {transient: true, cause: err})))
    })
    req.setTimeout(timeoutMs, () =>
      req.destroy(new HttpError(url, `no answer within ${timeoutMs} ms`, {transient: true})),
    )
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof HttpError) return reject(err)
      const down = ['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND'].includes(err.code ?? '')
      const what =
        err.code === 'ECONNREFUSED'
          ? 'connection refused'
          : err.code === 'ENOTFOUND'
            ? `host ${u.hostname} not found`
            : err.code
              ? `${err.code}: ${err.message}`
              : err.message
      reject(new HttpError(url, what, {transient: !down, down, cause: err}))
    })
    req.end()
  })
}

/** GET with retries on transient failures (exponential backoff, jitter); a refused connection fails at once. */
export function httpGet(url: string, opts: HttpGetOptions = {}): Promise<HttpResponse> {
  return withRetry(() => getOnce(url, opts), {
    retries: opts.retries ?? 2,
    baseMs: 100,
    isTransient: (e) => e instanceof HttpError && e.transient,
  })
}

export async function httpGetJson<T = unknown>(
  url: string,
  opts: HttpGetOptions = {},
): Promise<{value: T; response: HttpResponse}> {
  const response = await httpGet(url, opts)
  try {
    return {value: JSON.parse(response.body) as T, response}
  } catch (error) {
    throw new HttpError(url, `response is not JSON: ${(error as Error).message}`, {transient: false})
  }
}
