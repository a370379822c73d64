import * as grpc from '@grpc/grpc-js'
import {OperationError} from '../../errors.js'
import {readTlsFile} from '../tls-files.js'
import {withRetry} from '../../core/retry.js'

/**
 * The standard gRPC health protocol (grpc.health.v1.Health/Check). The two messages are tiny, so
 * the codec is written by hand:
 *   HealthCheckRequest  { string service = 1; }
 *   HealthCheckResponse { ServingStatus status = 1; }  UNKNOWN 0, SERVING 1, NOT_SERVING 2, SERVICE_UNKNOWN 3
 */
export const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const
export type ServingStatus = (typeof SERVING_STATUS)[number]

function varint(n: number): Buffer {
  const out: number[] = []
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80)
    n >>>= 7
  }
  out.push(n)
  return Buffer.from(out)
}

export function encodeHealthRequest(service: string): Buffer {
  if (!service) return Buffer.alloc(0)
  const s = Buffer.from(service, 'utf8')
  return Buffer.concat([Buffer.from([0x0a]), varint(s.length), s])
}

function readVarint(buf: Buffer, pos: number): [number, number] {
  let v = 0
  let shift = 0
  for (;;) {
    if (pos >= buf.length) throw new Error('truncated varint')
    const b = buf[pos++]
    v += (b & 0x7f) * 2 ** shift
    if ((b & 0x80) === 0) return [v, pos]
    shift += 7
  }
}

export function decodeHealthResponse(buf: Buffer): {status: ServingStatus} {
  let status = 0
  for (let pos = 0; pos < buf.length;) {
    const [tag, p] = readVarint(buf, pos)
    pos = p
    const field = Math.floor(tag / 8)
    const wire = tag & 7
    if (wire === 0) {
      const [v, q] = readVarint(buf, pos)
      pos = q
      if (field === 1) status = v
    } else if (wire === 2) {
      const [len, q] = readVarint(buf, pos)
      pos = q + len
    } else if (wire === 1) pos += 8
    else if (wire === 5) pos += 4
    else throw new Error(`unsupported wire type ${wire}`)
  }
  return {status: SERVING_STATUS[status] ?? 'UNKNOWN'}
}

export function decodeHealthRequest(buf: Buffer): {service: string} {
  if (buf.length === 0) return {service: ''}
  const [len, p] = readVarint(buf, 1)
  return {service: buf.subarray(p, p + len).toString('utf8')}
}

export function encodeHealthResponse(status: ServingStatus): Buffer {
  return Buffer.from([0x08, SERVING_STATUS.indexOf(status)])
}

export interface GrpcTls {
  ca?: string
  cert?: string
  key?: string
}

export class GrpcHealthError extends OperationError {
  readonly code: number
  constructor(endpoint: string, err: grpc.ServiceError) {
    const why =
      err.code === grpc.status.UNAVAILABLE && /ECONNREFUSED/.test(err.details ?? '')
        ? 'connection refused'
        : err.code === grpc.status.DEADLINE_EXCEEDED
          ? 'timeout'
          : `${grpc.status[err.code] ?? err.code}: ${err.details}`
    super(`${endpoint}: health check failed: ${why}`, {endpoint})
    this.code = err.code
  }
}

/** One Health/Check call against HOST:PORT; transient failures are retried with backoff and jitter. */
export async function grpcHealthCheck(
  endpoint: string,
  opts: {service?: string; timeoutMs?: number; tls?: GrpcTls; retries?: number} = {},
): Promise<{status: ServingStatus; latencyMs: number}> {
  let creds = grpc.credentials.createInsecure()
  if (opts.tls?.ca || opts.tls?.cert) {
    const read = (p?: string) => readTlsFile(p) ?? null
    creds = grpc.credentials.createSsl(read(opts.tls.ca), read(opts.tls.key), read(opts.tls.cert))
  }
  const client = new grpc.Client(endpoint.replace(/^[a-z]+:\/\//, ''), creds, {
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 1000,
  })
  const started = performance.now()
  try {
    const res = await withRetry(
      () =>
        new Promise<{status: ServingStatus}>((resolve, reject) => {
          client.makeUnaryRequest(
            '/grpc.health.v1.Health/Check',
            (s: string) => encodeHealthRequest(s),
            decodeHealthResponse,
            opts.service ?? '',
            new grpc.Metadata(),
            {deadline: Date.now() + (opts.timeoutMs ?? 3000)},
            (err, r) => (err ? reject(new GrpcHealthError(endpoint, err)) : resolve(r!)),
          )
        }),
      // Refused means nothing listens: not retried, so a down store is reported at once.
      {
        retries: opts.retries ?? 1,
        baseMs: 50,
        isTransient: (e) =>
          e instanceof GrpcHealthError && e.code === grpc.status.UNAVAILABLE && !/refused/.test(e.message),
      },
    )
    return {status: res.status, latencyMs: Math.round(performance.now() - started)}
  } finally {
    client.close()
  }
}
