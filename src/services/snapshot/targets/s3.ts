import {openS3Store, type S3Store, type UploadProgress} from '../../../adapters/s3/index.js'
import {UsageError} from '../../../errors.js'
import type {TargetSpec} from './index.js'
import type {SnapshotTarget, StoredObject, UploadExpectation} from './types.js'

export interface S3TargetOptions {
  endpoint?: string
  region?: string
  forcePathStyle?: boolean
  accessKeyId?: string
  secretAccessKey?: string
  profile?: string
  /** Multipart part size in bytes (>= 5 MiB); mainly for tests and tuning. */
  partSize?: number
  queueSize?: number
  onUploadProgress?: (p: UploadProgress) => void
}

export interface S3Location {
  bucket: string
  /** Key prefix: empty, or ending in "/". */
  prefix: string
}

// Lenient on purpose (S3-compatible gateways accept more than AWS's DNS rules), but never a
// character that changes how the URL or the request path is read.
const BUCKET_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$/

/**
 * Parses s3://bucket[/prefix[/]]. The prefix is taken literally (no percent-decoding) and always
 * ends in "/" when present, so names never run into it.
 */
export function parseS3Url(url: string): S3Location {
  const bad = (why: string) =>
    new UsageError(`invalid S3 target "${url}": ${why}`, {
      hint: 'use s3://BUCKET or s3://BUCKET/PREFIX, e.g. s3://backups/chainfire/prod',
    })
  const m = /^s3:\/\/([^/]*)(?:\/(.*))?$/i.exec(url)
  if (!m) throw bad('it must start with s3://')
  const [, bucket, rest = ''] = m
  if (!bucket) throw bad('the bucket name is missing')
  if (bucket.includes('@')) throw bad('credentials do not belong in the URL; use the target options or AWS_* variables')
  if (!BUCKET_RE.test(bucket) || bucket.includes('..')) {
    throw bad(
      `"${bucket}" is not a valid bucket name (3-63 letters, digits, ".", "-", "_"; starting and ending with a letter or digit)`,
    )
  }
  if (/[?#]/.test(rest)) throw bad('query strings and fragments are not allowed')
  const trimmed = rest.replace(/\/+$/, '')
  if (trimmed === '') return {bucket, prefix: ''}
  const segments = trimmed.split('/')
  if (segments.some((s) => s === '' || s === '.' || s === '..'))
    throw bad('the prefix has an empty, "." or ".." segment')
  return {bucket, prefix: `${trimmed}/`}
}

/**
 * Snapshots in an S3 bucket (AWS, MinIO, PlasmaCloud's gateway, anything S3-compatible).
 *
 * Visibility: S3 makes each PUT (and each completed multipart upload) visible atomically, all or
 * nothing, so a partial object can never be seen. We therefore upload the data object directly
 * under its final key, read it back in full, and delete it if the read-back differs; the
 * snapshot-level "complete" marker is the manifest, which the caller writes LAST (writeText),
 * only after upload() of NAME.db returned. A listing that shows NAME.db without
 * NAME.manifest.json is an incomplete snapshot. We chose this over "temporary key, then
 * CopyObject + DeleteObject" because a server-side copy rewrites the whole object again on most
 * gateways, a single CopyObject is limited to 5 GiB (etcd databases may be up to 8 GiB), and the
 * copy itself would need verifying again.
 */
export class S3Target implements SnapshotTarget {
  readonly kind = 's3' as const
  readonly url: string
  readonly bucket: string
  readonly prefix: string
  private store?: Promise<S3Store>

  constructor(
    url: string,
    private readonly options: S3TargetOptions = {},
  ) {
    const loc = parseS3Url(url)
    this.url = url
    this.bucket = loc.bucket
    this.prefix = loc.prefix
  }

  async list(): Promise<StoredObject[]> {
    const store = await this.open()
    const objects = await store.list(this.prefix)
    return objects
      .map((o) => ({name: o.key.slice(this.prefix.length), size: o.size, modifiedAt: o.modifiedAt}))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  async upload(localPath: string, name: string, expect: UploadExpectation): Promise<void> {
    await (await this.open()).putFile(localPath, this.key(name), expect)
  }

  /** Re-reads NAME in full and fails (OperationError) unless its size and sha256 match. */
  async verify(name: string, expect: UploadExpectation): Promise<void> {
    await (await this.open()).verifyObject(this.key(name), expect)
  }

  async download(name: string, localPath: string): Promise<void> {
    await (await this.open()).getFile(this.key(name), localPath)
  }

  async readText(name: string): Promise<string> {
    return (await this.open()).getText(this.key(name))
  }

  async writeText(name: string, text: string): Promise<void> {
    await (await this.open()).putText(this.key(name), text)
  }

  async remove(name: string): Promise<void> {
    await (await this.open()).delete(this.key(name))
  }

  async close(): Promise<void> {
    const store = this.store
    this.store = undefined
    if (store) await (await store).close()
  }

  private key(name: string): string {
    if (name === '' || name.startsWith('/') || name.split('/').some((s) => s === '.' || s === '..')) {
      throw new UsageError(`invalid object name "${name}" for ${this.url}`)
    }
    return this.prefix + name
  }

  private open(): Promise<S3Store> {
    this.store ??= openS3Store({bucket: this.bucket, ...this.options}).catch((error) => {
      this.store = undefined
      throw error
    })
    return this.store
  }
}

/** The target entry of a context's `snapshots.targets` (kebab-case keys, as in the config file). */
export type S3TargetSpec = TargetSpec

/** Entry point for the target registry (targets/index.ts loads this module only for s3:// URLs). */
export async function openS3Target(spec: S3TargetSpec, _loaded?: unknown, _ctx?: unknown): Promise<S3Target> {
  return new S3Target(spec.url, {
    endpoint: spec.endpoint,
    region: spec.region,
    forcePathStyle: spec['path-style'],
    profile: spec.profile,
    accessKeyId: spec['access-key-id'],
    secretAccessKey: spec['secret-access-key'],
  })
}
