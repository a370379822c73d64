import {readFile} from 'node:fs/promises'
import {request as httpRequest} from 'node:http'
import {request as httpsRequest} from 'node:https'

export interface TlsFiles {
  ca: string
  cert: string
  key: string
}

export interface TlsMaterial {
  ca: Buffer
  cert: Buffer
  key: Buffer
}

export async function loadTls(files: TlsFiles): Promise<TlsMaterial> {
  const [ca, cert, key] = await Promise.all([readFile(files.ca), readFile(files.cert), readFile(files.key)])
  return {ca, cert, key}
}

export interface HealthProbe {
  ok: boolean
  /** Why it is not ok: HTTP status, body or connection error. */
  error?: string
}

/**
 * GET CLIENT_URL/health: etcd answers {"health":"true"} when the member sees a leader. The lab uses
 * this light probe to wait for quorum; the real health checks go through the ChainFire adapter.
 */
export function probeHealth(clientUrl: string, tls?: TlsMaterial, timeoutMs = 2000): Promise<HealthProbe> {
  const url = new URL('/health', clientUrl)
  return new Promise((resolve) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(
      url,
      {
        method: 'GET',
        timeout: timeoutMs,
        ...(url.protocol === 'https:' && tls ? {ca: tls.ca, cert: tls.cert, key: tls.key} : {}),
      },
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => (body += d))
        res.on('end', () => {
          try {
            const health = (JSON.parse(body) as {health?: unknown}).health
            resolve(
              health === 'true' || health === true
                ? {ok: true}
                : {ok: false, error: `HTTP ${res.statusCode}: ${body.trim()}`},
            )
          } catch {
            resolve({ok: false, error: `HTTP ${res.statusCode}: ${body.trim().slice(0, 200)}`})
          }
        })
      },
    )
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.on('error', (err: NodeJS.ErrnoException) =>
      resolve({ok: false, error: err.code ? `${err.code}: ${err.message}` : err.message}),
    )
    req.end()
  })
}
