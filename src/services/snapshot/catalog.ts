import {mkdtemp, rm, stat} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {basename, dirname, join} from 'node:path'
import type {LoadedConfig} from '../../config/load.js'
import type {Context} from '../../config/schema.js'
import {OperationError, RefusedError, UsageError} from '../../errors.js'
import {digestFile, type SnapshotDigest} from './hash.js'
import {DB_SUFFIX, type Manifest, MANIFEST_SUFFIX, parseManifest} from './manifest.js'
import {FileTarget} from './targets/file.js'
import {openTarget, selectTargets, type SnapshotTarget} from './targets/index.js'
import {compareText} from '../../core/compare.js'

export type EntryState = 'complete' | 'no-manifest' | 'bad-manifest' | 'missing-data' | 'size-mismatch' | 'corrupt'

export interface CatalogEntry {
  id: string
  target: string
  state: EntryState
  /** A complete entry: manifest valid and the data object has the size it records (and, when hashed, every check passed). */
  complete: boolean
  /** What was checked: "size" (manifest against the object's size) or "hash" (the file was read and verified, list --verify). */
  checked: 'size' | 'hash'
  size: number | null
  createdAt: string
  revision: number | null
  /** The cluster the snapshot was taken from (manifest). */
  clusterId?: string | null
  manifest: Manifest | null
  error?: string
}

/** Every snapshot a target holds, newest first; in-flight (partial) objects are never listed. */
export async function catalog(target: SnapshotTarget): Promise<CatalogEntry[]> {
  const objects = await target.list()
  const data = new Map(
    objects.filter((o) => o.name.endsWith(DB_SUFFIX)).map((o) => [o.name.slice(0, -DB_SUFFIX.length), o]),
  )
  const manifests = new Map(
    objects.filter((o) => o.name.endsWith(MANIFEST_SUFFIX)).map((o) => [o.name.slice(0, -MANIFEST_SUFFIX.length), o]),
  )
  const ids = new Set([...data.keys(), ...manifests.keys()])
  const entries = await Promise.all(
    [...ids].map(async (id): Promise<CatalogEntry> => {
      const d = data.get(id)
      const m = manifests.get(id)
      const base = {
        id,
        target: target.url,
        size: d?.size ?? null,
        createdAt: (d ?? m)!.modifiedAt.toISOString(),
        revision: null,
        clusterId: null,
        manifest: null,
        checked: 'size' as const,
      }
      if (!m) return {...base, state: 'no-manifest', complete: false, error: 'no manifest (the save did not finish)'}
      let manifest: Manifest
      try {
        manifest = await parseManifest(
          await target.readText(id + MANIFEST_SUFFIX),
          `${target.url}/${id}${MANIFEST_SUFFIX}`,
        )
      } catch (error) {
        return {...base, state: 'bad-manifest', complete: false, error: (error as Error).message}
      }
      const withManifest = {
        ...base,
        createdAt: manifest.createdAt,
        revision: manifest.revision,
        clusterId: manifest.clusterId,
        manifest,
      }
      if (!d) return {...withManifest, state: 'missing-data', complete: false, error: 'manifest without data object'}
      if (d.size !== manifest.size)
        return {
          ...withManifest,
          state: 'size-mismatch',
          complete: false,
          error: `data object is ${d.size} bytes, manifest says ${manifest.size}`,
        }
      return {...withManifest, state: 'complete', complete: true}
    }),
  )
  return entries.sort((a, b) => compareText(b.createdAt, a.createdAt) || compareText(b.id, a.id))
}

/** Reads and verifies every complete entry of TARGET (one at a time): "size ok" becomes "verified" or "corrupt". */
async function hashEntries(target: SnapshotTarget, entries: CatalogEntry[]): Promise<CatalogEntry[]> {
  const out: CatalogEntry[] = []
  for (const e of entries) {
    if (!e.complete) {
      out.push(e)
      continue
    }
    const bad = await withLocalCopy({target, id: e.id}, async (path, manifest) =>
      verifyDigest(await digestFile(path), manifest).filter((c) => !c.ok),
    )
    out.push(
      bad.length === 0
        ? {...e, checked: 'hash'}
        : {
            ...e,
            checked: 'hash',
            state: 'corrupt',
            complete: false,
            error: bad.map((c) => `${c.check}: ${c.detail}`).join('; '),
          },
    )
  }
  return out
}

export interface CatalogOptions {
  loaded: LoadedConfig
  ctx: Context
  targets?: string[]
}

export async function withTargets<T>(opts: CatalogOptions, fn: (targets: SnapshotTarget[]) => Promise<T>): Promise<T> {
  const targets: SnapshotTarget[] = []
  try {
    for (const s of selectTargets(opts.ctx, opts.targets)) targets.push(await openTarget(s, opts.loaded, opts.ctx))
    return await fn(targets)
  } finally {
    for (const t of targets) await t.close().catch(() => undefined)
  }
}

export interface Listing {
  snapshots: CatalogEntry[]
  /** Targets that could not be listed: the others are still reported (partial failure). refused: by a safety check (host key). */
  errors: {target: string; error: string; refused?: boolean}[]
}

export async function listSnapshots(opts: CatalogOptions & {verify?: boolean}): Promise<Listing> {
  const specs = selectTargets(opts.ctx, opts.targets)
  const results = await Promise.all(
    specs.map(async (spec) => {
      let target: SnapshotTarget | undefined
      try {
        target = await openTarget(spec, opts.loaded, opts.ctx)
        const entries = await catalog(target)
        return {entries: opts.verify ? await hashEntries(target, entries) : entries}
      } catch (error) {
        if (error instanceof UsageError) throw error
        return {
          error: {
            target: spec.url,
            error: (error as Error).message,
            ...(error instanceof RefusedError ? {refused: true} : {}),
          },
        }
      } finally {
        await target?.close().catch(() => undefined)
      }
    }),
  )
  const snapshots = results
    .flatMap((r) => r.entries ?? [])
    .sort((a, b) => compareText(b.createdAt, a.createdAt) || compareText(b.id, a.id))
  return {snapshots, errors: results.flatMap((r) => (r.error ? [r.error] : []))}
}

export interface VerifyCheck {
  check: string
  ok: boolean
  detail: string
}

export interface VerifyResult {
  id: string
  source: string
  ok: boolean
  digest: SnapshotDigest
  manifest: Manifest | null
  checks: VerifyCheck[]
}

/** Checks a snapshot file: trailer hash, page alignment, and the manifest's size and hash. */
export function verifyDigest(digest: SnapshotDigest, manifest: Manifest | null): VerifyCheck[] {
  const checks: VerifyCheck[] = [
    {
      check: 'trailer',
      ok: digest.trailerOk,
      detail: digest.trailerOk
        ? 'sha256 trailer matches the database bytes'
        : digest.trailer
          ? `trailer ${digest.trailer.slice(0, 16)}… does not match the database sha256 ${digest.dbSha256.slice(0, 16)}… (corrupt or truncated)`
          : 'file is shorter than the 32-byte trailer',
    },
    {
      check: 'page-alignment',
      ok: digest.pageAligned,
      detail: digest.pageAligned
        ? 'database is a whole number of 4 KiB pages'
        : `database size ${digest.size - 32} is not a multiple of 4096 (truncated?)`,
    },
    // The structure catches a cut file whose trailer was recomputed to match.
    ...digest.structure,
  ]
  if (manifest) {
    checks.push({
      check: 'manifest-size',
      ok: digest.size === manifest.size,
      detail: `${digest.size} bytes, manifest says ${manifest.size}`,
    })
    checks.push({
      check: 'manifest-sha256',
      ok: digest.sha256 === manifest.sha256,
      detail:
        digest.sha256 === manifest.sha256
          ? 'file sha256 matches the manifest'
          : `file sha256 ${digest.sha256.slice(0, 16)}… ≠ manifest ${manifest.sha256.slice(0, 16)}…`,
    })
    checks.push({
      check: 'manifest-db-sha256',
      ok: digest.dbSha256 === manifest.dbSha256,
      detail: 'database sha256 against the manifest',
    })
  } else {
    checks.push({check: 'manifest', ok: true, detail: 'no manifest next to the file: checked the trailer only'})
  }
  return checks
}

/** Finds ID in the targets, or treats the argument as a local file. */
export async function locate(
  targets: SnapshotTarget[],
  idOrFile: string,
): Promise<{target?: SnapshotTarget; id: string; file?: string}> {
  const looksLikeFile = idOrFile.includes('/') || idOrFile.endsWith(DB_SUFFIX)
  if (looksLikeFile) {
    const st = await stat(idOrFile).catch(() => undefined)
    if (!st?.isFile()) throw new UsageError(`snapshot file ${idOrFile} does not exist`, {file: idOrFile})
    return {id: basename(idOrFile).replace(/\.db$/, ''), file: idOrFile}
  }
  for (const t of targets) {
    const names = new Set((await t.list()).map((o) => o.name))
    if (names.has(idOrFile + DB_SUFFIX) || names.has(idOrFile + MANIFEST_SUFFIX)) return {target: t, id: idOrFile}
  }
  throw new UsageError(`no snapshot "${idOrFile}" in ${targets.map((t) => t.url).join(', ')}`, {
    hint: 'see `plasmactl snapshot list`',
  })
}

/** Reads the manifest next to a local file (NAME.db → NAME.manifest.json), if any. */
async function manifestBeside(file: string): Promise<Manifest | null> {
  const t = new FileTarget(dirname(file))
  const id = basename(file).replace(/\.db$/, '')
  try {
    return await parseManifest(await t.readText(id + MANIFEST_SUFFIX), join(dirname(file), id + MANIFEST_SUFFIX))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    // A damaged snapshot is a failed check (3), as it is when the snapshot is named from a target.
    throw new OperationError((error as Error).message, {file: join(dirname(file), id + MANIFEST_SUFFIX)})
  }
}

/** Runs fn on a local copy of the snapshot (the file itself for local targets). */
export async function withLocalCopy<T>(
  loc: {target?: SnapshotTarget; id: string; file?: string},
  fn: (path: string, manifest: Manifest | null) => Promise<T>,
): Promise<T> {
  if (loc.file) return fn(loc.file, await manifestBeside(loc.file))
  const t = loc.target!
  let manifest: Manifest | null = null
  try {
    manifest = await parseManifest(await t.readText(loc.id + MANIFEST_SUFFIX), `${t.url}/${loc.id}${MANIFEST_SUFFIX}`)
  } catch (error) {
    if (!/ENOENT|NoSuchKey|not found|No such file/i.test((error as Error).message))
      throw new OperationError((error as Error).message)
  }
  if (t instanceof FileTarget) {
    const data = t.path(loc.id + DB_SUFFIX)
    if (!(await stat(data).catch(() => undefined))?.isFile())
      throw new OperationError(`snapshot ${loc.id} has a manifest but no data file (${data} is missing)`, {file: data})
    return fn(data, manifest)
  }
  const dir = await mkdtemp(join(tmpdir(), 'plasmactl-snap-'))
  try {
    const p = join(dir, loc.id + DB_SUFFIX)
    await t.download(loc.id + DB_SUFFIX, p)
    return await fn(p, manifest)
  } finally {
    await rm(dir, {recursive: true, force: true})
  }
}

export async function verifySnapshot(opts: CatalogOptions & {idOrFile: string}): Promise<VerifyResult> {
  return withTargets(opts, async (targets) => {
    const loc = await locate(targets, opts.idOrFile).catch((error: unknown) => {
      // A snapshot file that is not there failed verification, like a missing object on a target.
      if (error instanceof UsageError && error.details.file) throw new OperationError(error.message, error.details)
      throw error
    })
    return withLocalCopy(loc, async (path, manifest) => {
      const digest = await digestFile(path)
      const checks = verifyDigest(digest, manifest)
      return {
        id: loc.id,
        source: loc.file ?? `${loc.target!.url}`,
        ok: checks.every((c) => c.ok),
        digest,
        manifest,
        checks,
      }
    })
  })
}
