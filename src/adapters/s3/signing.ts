/**
 * The SigV4 signer exactly as the S3 client builds it, exposed so conformance tests can run the
 * official vectors through it and inspect what it hashes. Nothing here is on a command's path.
 */
import type {S3ClientConfig} from '@aws-sdk/client-s3'

export interface SigningCredentials {
  accessKeyId: string
  secretAccessKey: string
  sessionToken?: string
}

/** What the signer hashed: the canonical request and the string to sign of the last signature. */
export interface SigningTrace {
  canonicalRequests: string[]
  stringsToSign: string[]
}

export interface HttpRequestLike {
  method: string
  protocol?: string
  hostname: string
  port?: number
  path: string
  query?: Record<string, string | string[] | null>
  headers: Record<string, string>
  body?: string | Uint8Array
}

export interface Sigv4Signer {
  sign(request: HttpRequestLike, options?: {signingDate?: Date}): Promise<HttpRequestLike>
  presign(request: HttpRequestLike, options?: {signingDate?: Date; expiresIn?: number}): Promise<HttpRequestLike>
}

export interface CreateSignerOptions {
  credentials: SigningCredentials
  region: string
  service: string
  /**
   * false (S3's setting, the default here): the path is used as given, already URI-encoded by the
   * S3 serializer, with no dot-segment or double-slash normalization, because those are part of
   * S3 keys. true: the generic SigV4 behaviour (normalize, then encode each segment).
   */
  uriEscapePath?: boolean
  /** Add and sign x-amz-content-sha256 (S3 always does). */
  applyChecksum?: boolean
  trace?: SigningTrace
}

type HashCtor = new (secret?: unknown) => {update(data: unknown): void; digest(): Promise<Uint8Array>}

/** Wraps the SDK's hash so the signer's canonical request and string to sign can be observed. */
function tracingHash(Base: HashCtor, trace: SigningTrace): HashCtor {
  return class TracingHash extends Base {
    private readonly keyed: boolean
    constructor(secret?: unknown) {
      super(secret)
      this.keyed = secret !== undefined && secret !== null
    }
    override update(data: unknown): void {
      const text = typeof data === 'string' ? data : Buffer.from(data as Uint8Array).toString('utf8')
      // Unkeyed: payload hash or canonical request. Keyed (HMAC): key derivation steps and the string to sign.
      if (!this.keyed && /^[A-Z]+\n/.test(text)) trace.canonicalRequests.push(text)
      if (this.keyed && text.startsWith('AWS4-HMAC-SHA256\n')) trace.stringsToSign.push(text)
      super.update(data)
    }
  }
}

/**
 * Builds the signer with the constructor, hash and path-escaping the S3 client itself resolves
 * (SignatureV4MultiRegion → @smithy/signature-v4, Node's sha256), only with the service and
 * region a caller asks for.
 */
export async function createS3Signer(opts: CreateSignerOptions): Promise<Sigv4Signer> {
  const sdk = await import('@aws-sdk/client-s3')
  const client = new sdk.S3Client({region: opts.region, credentials: opts.credentials})
  try {
    const cfg = client.config as unknown as {
      signerConstructor: new (o: unknown) => Sigv4Signer
      sha256: HashCtor
      signingEscapePath: boolean
    }
    const sha256 = opts.trace ? tracingHash(cfg.sha256, opts.trace) : cfg.sha256
    return new cfg.signerConstructor({
      credentials: opts.credentials,
      region: opts.region,
      service: opts.service,
      sha256,
      uriEscapePath: opts.uriEscapePath ?? cfg.signingEscapePath,
      applyChecksum: opts.applyChecksum ?? true,
    })
  } finally {
    client.destroy()
  }
}

export interface InspectedS3Request {
  method: string
  /** Path exactly as it would go on the wire. */
  path: string
  query: Record<string, string | string[] | null>
  headers: Record<string, string>
  canonicalRequest: string
  stringToSign: string
}

/**
 * Runs one real S3 operation through the real S3 client (serializer, middleware, signer) and
 * captures the signed request instead of sending it: no network, no server, no fake responses.
 */
export async function inspectS3Request(opts: {
  operation: 'PutObject' | 'GetObject' | 'HeadObject' | 'DeleteObject' | 'ListObjectsV2'
  bucket: string
  key: string
  endpoint?: string
  region?: string
  credentials: SigningCredentials
}): Promise<InspectedS3Request> {
  const sdk = await import('@aws-sdk/client-s3')
  const trace: SigningTrace = {canonicalRequests: [], stringsToSign: []}
  const probe = new sdk.S3Client({region: opts.region ?? 'us-east-1', credentials: opts.credentials})
  const sha256 = tracingHash((probe.config as unknown as {sha256: HashCtor}).sha256, trace)
  probe.destroy()
  let captured: HttpRequestLike | undefined
  const stop = new Error('captured')
  const config: S3ClientConfig = {
    region: opts.region ?? 'us-east-1',
    endpoint: opts.endpoint ?? 'http://127.0.0.1:9',
    forcePathStyle: true,
    credentials: opts.credentials,
    maxAttempts: 1,
    sha256: sha256 as unknown as S3ClientConfig['sha256'],
    requestChecksumCalculation: 'WHEN_REQUIRED',
    requestHandler: {
      handle: async (request: HttpRequestLike) => {
        captured = request
        throw stop
      },
    } as unknown as S3ClientConfig['requestHandler'],
  }
  const client = new sdk.S3Client(config)
  const b = {Bucket: opts.bucket}
  const command =
    opts.operation === 'PutObject'
      ? new sdk.PutObjectCommand({...b, Key: opts.key, Body: 'x', ContentLength: 1})
      : opts.operation === 'GetObject'
        ? new sdk.GetObjectCommand({...b, Key: opts.key})
        : opts.operation === 'HeadObject'
          ? new sdk.HeadObjectCommand({...b, Key: opts.key})
          : opts.operation === 'DeleteObject'
            ? new sdk.DeleteObjectCommand({...b, Key: opts.key})
            : new sdk.ListObjectsV2Command({...b, Prefix: opts.key, Delimiter: '/'})
  try {
    await client.send(command as Parameters<typeof client.send>[0])
  } catch (error) {
    if (error !== stop && !captured) throw error
  } finally {
    client.destroy()
  }
  if (!captured) throw new Error('the S3 client sent no request')
  return {
    method: captured.method,
    path: captured.path,
    query: captured.query ?? {},
    headers: captured.headers,
    canonicalRequest: trace.canonicalRequests.at(-1) ?? '',
    stringToSign: trace.stringsToSign.at(-1) ?? '',
  }
}
