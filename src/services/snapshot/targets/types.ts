/**
 * Where snapshots are kept: file://DIR, s3://bucket/prefix, sftp://node-or-host/path. Every target
 * stores a snapshot as two objects, NAME.db and NAME.manifest.json, with portable names
 * ([a-z0-9._-] only) so any S3 gateway, filesystem or SFTP server accepts them unchanged.
 */
export interface StoredObject {
  /** Object name relative to the target's root/prefix. */
  name: string
  size: number
  modifiedAt: Date
}

export interface UploadExpectation {
  size: number
  /** Hex SHA-256 of the whole file; the target reads back and fails if what it stored differs. */
  sha256: string
}

export interface SnapshotTarget {
  /** The URL it was configured with, for messages and manifests. */
  readonly url: string
  readonly kind: 'file' | 's3' | 'sftp'
  list(): Promise<StoredObject[]>
  /** Uploads under a temporary name, verifies size and checksum, then makes it visible as NAME. */
  upload(localPath: string, name: string, expect: UploadExpectation): Promise<void>
  download(name: string, localPath: string): Promise<void>
  readText(name: string): Promise<string>
  writeText(name: string, text: string): Promise<void>
  remove(name: string): Promise<void>
  close(): Promise<void>
}
