/**
 * S3 adapter: the only module that touches the AWS SDK. The SDK is loaded with a dynamic import
 * the first time a store is opened, so commands that never use S3 never pay for loading it.
 */
import {createHash, randomBytes} from 'node:crypto'
import {createReadStream, createWriteStream} from 'node:fs'
import {stat} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'
import {Transform} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import type {S3Client, S3ClientConfig} from '@aws-sdk/client-s3'
import {replaceAtomically} from '../../core/fs.js'
import {OperationError, PlasmaError, RefusedError, UsageError, type ErrorDetails} from '../../errors.js'

/** S3 requires parts of at least 5 MiB (except the last one). */
export const MIN_PART_SIZE = 5 * 1024 * 1024
const MAX_PARTS = 10_000
const DEFAULT_PART_SIZE = 8 * 1024 * 1024
const DEFAULT_QUEUE_SIZE = 4
/** Object metadata key (sent as x-amz-meta-sha256) that carries the hex SHA-256 of the whole object. */
export const SHA256_METADATA_KEY = 'sha256'

export interface S3ConnectOptions {
  bucket: string
  /** Custom endpoint (PlasmaCloud gateway, MinIO, s3rver): http(s)://host:port. Absent: AWS. */
  endpoint?: string
  /** Signing region. Default: AWS_REGION / AWS_DEFAULT_REGION / the profile's region; with a custom endpoint, us-east-1. */
  region?: string
  /** Path-style addressing (http://host/bucket/key). Default: on with a custom endpoint, off for AWS. */
  forcePathStyle?: boolean
  /** Explicit credentials; both or neither. Otherwise the SDK's default chain (env, profile, SSO, IMDS). */
  accessKeyId?: string
  secretAccessKey?: string
  sessionToken?: string
  /** Shared config/credentials profile (~/.aws/credentials); AWS_PROFILE works through the default chain too. */
  profile?: string
  /** Multipart part size in bytes (>= 5 MiB). Memory use is about partSize * (queueSize + 1). */
  partSize?: number
  queueSize?: number
  /** Connect timeout in ms (default 10 s). */
  connectTimeoutMs?: number
  /** Upload progress (for a reporter on stderr); part is the multipart part number, absent for a single PUT. */
  onUploadProgress?: (p: UploadProgress) => void
}

export interface UploadProgress {
  key: string
  loaded: number
  total?: number
  part?: number
}

export interface S3ObjectInfo {
  /** Full key. */
  key: string
  size: number
  modifiedAt: Date
}

export interface S3Expectation {
  size: number
  /** Hex SHA-256. */
  sha256: string
}

type Sdk = typeof import('@aws-sdk/client-s3')

/** Resolves the SDK client config from our options. Pure, so it can be unit-tested without the SDK. */
export function clientConfigFor(opts: S3ConnectOptions, env: NodeJS.ProcessEnv = process.env): S3ClientConfig {
  if (Boolean(opts.accessKeyId) !== Boolean(opts.secretAccessKey)) {
    throw new UsageError('S3 credentials need both an access key id and a secret access key', {
      endpoint: opts.endpoint,
      hint: 'set both accessKeyId and secretAccessKey, or neither to use AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile',
    })
  }
  if (opts.endpoint !== undefined) {
    let u: URL
    try {
      u = new URL(opts.endpoint)
    } catch {
      throw new UsageError(`S3 endpoint "${opts.endpoint}" is not a URL`, {
        endpoint: opts.endpoint,
        hint: 'use http(s)://host:port',
      })
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new UsageError(`S3 endpoint "${opts.endpoint}" must be http:// or https://`, {endpoint: opts.endpoint})
    }
  }
  const region = opts.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (opts.endpoint ? 'us-east-1' : undefined)
  const config: S3ClientConfig = {
    region,
    endpoint: opts.endpoint,
    forcePathStyle: opts.forcePathStyle ?? Boolean(opts.endpoint),
    profile: opts.profile,
    maxAttempts: 3,
    // Since 3.729 the SDK adds CRC32 "flexible checksums" to every upload by default, sending
    // streaming bodies as aws-chunked with trailers. Many S3-compatible gateways reject or
    // mis-store that; we verify integrity ourselves (see verifyObject), so only send them when
    // an operation requires it.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {connectionTimeout: opts.connectTimeoutMs ?? 10_000, requestTimeout: 120_000},
  }
  if (opts.accessKeyId && opts.secretAccessKey) {
    config.credentials = {
      accessKeyId: opts.accessKeyId,
      secretAccessKey: opts.secretAccessKey,
      sessionToken: opts.sessionToken,
    }
  }
  return config
}

/** Part size that respects S3's 5 MiB minimum and 10,000-part maximum for a file of SIZE bytes. */
export function partSizeFor(size: number, wanted = DEFAULT_PART_SIZE): number {
  return Math.max(MIN_PART_SIZE, wanted, Math.ceil(size / MAX_PARTS))
}

/** Opens a store on one bucket. Loads the SDK on first call. */
export async function openS3Store(opts: S3ConnectOptions): Promise<S3Store> {
  const config = clientConfigFor(opts)
  // On Node 20 the SDK prints a 9-line NodeVersionSupportWarning to stderr on first use (future
  // SDK releases will need Node 22). package.json pins a ~range that supports Node 20, so the
  // warning does not apply to us, and it would land in every cron mail. The variable is the SDK's
  // documented opt-out; an operator who sets it explicitly keeps their choice.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  const sdk = await import('@aws-sdk/client-s3')
  return new S3Store(sdk, new sdk.S3Client(config), opts)
}

/** A bucket on one S3 endpoint. Every SDK failure leaves as a typed PlasmaError. */
export class S3Store {
  readonly bucket: string
  readonly endpoint: string

  constructor(
    private readonly sdk: Sdk,
    private readonly client: S3Client,
    private readonly opts: S3ConnectOptions,
  ) {
    this.bucket = opts.bucket
    this.endpoint = opts.endpoint ?? 'aws'
  }

  /** Objects directly under PREFIX (no recursion into "sub/folders"), all pages. */
  async list(prefix: string): Promise<S3ObjectInfo[]> {
    const out: S3ObjectInfo[] = []
    let token: string | undefined
    do {
      const page = await this.call('list', prefix, () =>
        this.client.send(
          new this.sdk.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix || undefined,
            Delimiter: '/',
            ContinuationToken: token,
          }),
        ),
      )
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined || o.Key === prefix) continue
        out.push({key: o.Key, size: Number(o.Size ?? 0), modifiedAt: o.LastModified ?? new Date(0)})
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
    return out
  }

  /** Size, modification time and our sha256 metadata of KEY, or undefined when it does not exist. */
  async head(key: string): Promise<{size: number; modifiedAt: Date; sha256?: string} | undefined> {
    try {
      const h = await this.client.send(new this.sdk.HeadObjectCommand({Bucket: this.bucket, Key: key}))
      return {
        size: Number(h.ContentLength ?? 0),
        modifiedAt: h.LastModified ?? new Date(0),
        sha256: h.Metadata?.[SHA256_METADATA_KEY],
      }
    } catch (error) {
      if (isNotFound(error) && !isNoSuchBucket(error)) return undefined
      throw this.toError('head', key, error)
    }
  }

  /**
   * Streams a local file to KEY (multipart above one part size: constant memory, parts uploaded
   * queueSize at a time), stores its sha256 as metadata, then verifies the stored object.
   * Refuses to overwrite an existing object, and deletes what it stored if verification fails.
   */
  async putFile(localPath: string, key: string, expect: S3Expectation): Promise<void> {
    let size: number
    try {
      size = (await stat(localPath)).size
    } catch (error) {
      throw new UsageError(`cannot read ${localPath}: ${(error as Error).message}`, {file: localPath})
    }
    if (size !== expect.size) {
      throw new UsageError(`${localPath} is ${size} bytes, expected ${expect.size}`, {file: localPath})
    }
    if (await this.head(key)) {
      throw new RefusedError(`s3://${this.bucket}/${key} already exists; refusing to overwrite it`, this.where(key))
    }
    const {Upload} = await import('@aws-sdk/lib-storage')
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: this.bucket,
        Key: key,
        Body: createReadStream(localPath),
        ContentLength: size,
        ContentType: 'application/octet-stream',
        Metadata: {[SHA256_METADATA_KEY]: expect.sha256},
      },
      partSize: partSizeFor(size, this.opts.partSize),
      queueSize: this.opts.queueSize ?? DEFAULT_QUEUE_SIZE,
      // Abort the multipart upload on failure so no orphaned parts keep costing storage.
      leavePartsOnError: false,
    })
    const report = this.opts.onUploadProgress
    if (report)
      upload.on('httpUploadProgress', (p) => report({key, loaded: p.loaded ?? 0, total: p.total, part: p.part}))
    await this.call('upload', key, () => upload.done())
    try {
      await this.verifyObject(key, expect)
    } catch (error) {
      await this.delete(key).catch(() => undefined)
      throw error
    }
  }

  /**
   * Proves the stored object is what we sent: HeadObject for size and our sha256 metadata, then a
   * full streaming re-read that hashes every byte (constant memory).
   *
   * Why not x-amz-checksum-sha256 / GetObjectAttributes? Those "flexible checksums" are an AWS
   * extension that many S3-compatible gateways (older MinIO, Ceph RGW, s3rver, and whatever our
   * own gateway implements) ignore or return nothing for, and for multipart uploads AWS returns a
   * checksum-of-part-checksums rather than the whole-object SHA-256. A ranged re-read only
   * samples. GET and HEAD are the two calls every gateway supports, and re-reading everything is
   * the only check that covers every stored byte; for a backup that is worth one extra download.
   */
  async verifyObject(key: string, expect: S3Expectation): Promise<void> {
    const head = await this.head(key)
    const where = this.where(key)
    if (!head) throw new OperationError(`read-back failed: s3://${this.bucket}/${key} is missing after upload`, where)
    if (head.size !== expect.size) {
      throw new OperationError(
        `read-back failed: s3://${this.bucket}/${key} is ${head.size} bytes, expected ${expect.size}`,
        where,
      )
    }
    if (head.sha256 !== undefined && head.sha256 !== expect.sha256) {
      throw new OperationError(
        `read-back failed: s3://${this.bucket}/${key} has sha256 metadata ${head.sha256}, expected ${expect.sha256}`,
        where,
      )
    }
    const got = await this.hashObject(key)
    if (got.size !== expect.size || got.sha256 !== expect.sha256) {
      throw new OperationError(
        `read-back failed: s3://${this.bucket}/${key} reads back as ${got.size} bytes with sha256 ${got.sha256}, expected ${expect.size} bytes with ${expect.sha256}`,
        {...where, hint: 'the gateway stored different bytes than were sent; the object is not trusted'},
      )
    }
  }

  /** Reads KEY completely and returns its byte count and hex SHA-256. */
  async hashObject(key: string): Promise<S3Expectation> {
    const hash = createHash('sha256')
    let size = 0
    const body = await this.getStream(key)
    await this.call('read', key, async () => {
      for await (const chunk of body) {
        hash.update(chunk as Buffer)
        size += (chunk as Buffer).length
      }
    })
    return {size, sha256: hash.digest('hex')}
  }

  /**
   * Downloads KEY to LOCALPATH atomically (temp file in the same directory, fsync, rename). Fails,
   * leaving nothing behind, if the bytes do not match the stored size or sha256 metadata.
   */
  async getFile(key: string, localPath: string): Promise<S3Expectation> {
    const head = await this.head(key)
    if (!head) throw new OperationError(`s3://${this.bucket}/${key} does not exist`, this.where(key))
    const tmp = join(dirname(localPath), `.${basename(localPath)}.tmp-${randomBytes(4).toString('hex')}`)
    const hash = createHash('sha256')
    let size = 0
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk)
        size += chunk.length
        cb(null, chunk)
      },
    })
    let got = {size: 0, sha256: ''}
    try {
      await replaceAtomically(
        localPath,
        async (tmp) => {
          const body = await this.getStream(key)
          await this.call('download', key, () => pipeline(body, tap, createWriteStream(tmp, {mode: 0o600})))
          got = {size, sha256: hash.digest('hex')}
          if (got.size !== head.size || (head.sha256 !== undefined && head.sha256 !== got.sha256)) {
            throw new OperationError(
              `download of s3://${this.bucket}/${key} does not match: got ${got.size} bytes sha256 ${got.sha256}, stored ${head.size} bytes sha256 ${head.sha256 ?? '(none)'}`,
              this.where(key),
            )
          }
        },
        tmp,
      )
      return got
    } catch (error) {
      if (error instanceof PlasmaError) throw error
      throw new UsageError(`cannot write ${localPath}: ${(error as Error).message}`, {file: localPath})
    }
  }

  async getText(key: string): Promise<string> {
    const body = await this.getStream(key)
    const chunks: Buffer[] = []
    await this.call('read', key, async () => {
      for await (const c of body) chunks.push(c as Buffer)
    })
    return Buffer.concat(chunks).toString('utf8')
  }

  /** Small objects (manifests): one PUT with sha256 metadata, then the same read-back as putFile. */
  async putText(key: string, text: string): Promise<void> {
    const data = Buffer.from(text, 'utf8')
    const sha256 = createHash('sha256').update(data).digest('hex')
    await this.call('put', key, () =>
      this.client.send(
        new this.sdk.PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: data,
          ContentLength: data.length,
          ContentType: 'application/json; charset=utf-8',
          Metadata: {[SHA256_METADATA_KEY]: sha256},
        }),
      ),
    )
    await this.verifyObject(key, {size: data.length, sha256})
  }

  /** Deletes KEY. Like S3 itself, deleting a key that is not there succeeds. */
  async delete(key: string): Promise<void> {
    await this.call('delete', key, () =>
      this.client.send(new this.sdk.DeleteObjectCommand({Bucket: this.bucket, Key: key})),
    )
  }

  async close(): Promise<void> {
    this.client.destroy()
  }

  private async getStream(key: string): Promise<AsyncIterable<unknown>> {
    const res = await this.call('read', key, () =>
      this.client.send(new this.sdk.GetObjectCommand({Bucket: this.bucket, Key: key})),
    )
    if (!res.Body) throw new OperationError(`s3://${this.bucket}/${key} returned no body`, this.where(key))
    return res.Body as unknown as AsyncIterable<unknown>
  }

  private where(key?: string): ErrorDetails {
    return {endpoint: this.endpoint, bucket: this.bucket, ...(key === undefined ? {} : {key})}
  }

  private async call<T>(op: string, key: string | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (error) {
      throw this.toError(op, key, error)
    }
  }

  private toError(op: string, key: string | undefined, error: unknown): PlasmaError {
    if (error instanceof PlasmaError) return error
    const e = error as {name?: string; code?: string; message?: string; $metadata?: {httpStatusCode?: number}}
    const status = e.$metadata?.httpStatusCode
    const what = `${op} s3://${this.bucket}/${key ?? ''}`
    const details = this.where(key)
    if (
      e.name === 'CredentialsProviderError' ||
      /Could not load credentials|Region is missing/i.test(e.message ?? '')
    ) {
      return new UsageError(
        `S3 ${what}: ${e.message}`,
        {
          ...details,
          hint: 'set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or accessKeyId/secretAccessKey/profile/region in the target options',
        },
        {cause: error},
      )
    }
    let hint: string | undefined
    if (isNoSuchBucket(error)) hint = `bucket "${this.bucket}" does not exist on ${this.endpoint}`
    else if (e.name === 'SignatureDoesNotMatch')
      hint =
        'check the secret key, region and clock; a key with unusual characters signed differently by the gateway points to a canonicalization bug'
    else if (e.name === 'AccessDenied' || e.name === 'InvalidAccessKeyId' || status === 403)
      hint = 'check the credentials and the bucket policy'
    else if (e.code === 'ECONNREFUSED' || e.name === 'TimeoutError')
      hint = `is the S3 endpoint ${this.endpoint} reachable?`
    const code = e.name && e.name !== 'Error' ? e.name : (e.code ?? `HTTP ${status ?? '?'}`)
    return new OperationError(
      `S3 ${what} failed: ${code}${e.message && e.message !== e.name ? `: ${e.message}` : ''}`,
      {...details, hint},
      {cause: error},
    )
  }
}

function isNotFound(error: unknown): boolean {
  const e = error as {name?: string; $metadata?: {httpStatusCode?: number}}
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404
}

function isNoSuchBucket(error: unknown): boolean {
  return (
    (error as {name?: string; Code?: string})?.name === 'NoSuchBucket' ||
    (error as {Code?: string})?.Code === 'NoSuchBucket'
  )
}
