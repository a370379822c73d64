import {join} from 'node:path'
import {configPath} from '../../../config/context.js'
import type {LoadedConfig} from '../../../config/load.js'
import {stateDir} from '../../../config/paths.js'
import type {Context} from '../../../config/schema.js'
import {UsageError} from '../../../errors.js'
import {FileTarget} from './file.js'
import type {SnapshotTarget} from './types.js'

export type {SnapshotTarget, StoredObject} from './types.js'
export {FileTarget} from './file.js'

/** One entry of a context's `snapshots.targets`, normalized to an object (kebab-case keys as in the file). */
export type TargetSpec = Exclude<NonNullable<NonNullable<Context['snapshots']>['targets']>[number], string>

export function defaultTargetUrl(ctx: Context): string {
  return `file://${join(stateDir(), 'snapshots', ctx.name)}`
}

/** The context's targets (first = primary), or the default directory in the state dir. */
export function targetSpecs(ctx: Context): TargetSpec[] {
  const t = ctx.snapshots?.targets
  if (!t || t.length === 0) return [{url: defaultTargetUrl(ctx)}]
  return t.map((x) => (typeof x === 'string' ? {url: x} : x))
}

/** Opens a target; S3 and SFTP modules load only when such a target is used. */
export async function openTarget(spec: TargetSpec, loaded: LoadedConfig, ctx: Context): Promise<SnapshotTarget> {
  const url = spec.url
  if (url.startsWith('file://') || url.startsWith('/') || url.startsWith('.')) {
    return new FileTarget(url.startsWith('file://') ? url : configPath(loaded, url))
  }
  if (url.startsWith('s3://')) {
    const mod = await import('./s3.js').catch(() => undefined)
    if (!mod) throw new UsageError(`S3 targets are not available in this build (${url})`)
    return mod.openS3Target(spec, loaded, ctx)
  }
  if (url.startsWith('sftp://')) {
    const mod = await import('./sftp.js').catch(() => undefined)
    if (!mod) throw new UsageError(`SFTP targets are not available in this build (${url})`)
    return mod.openSftpTarget(spec, loaded, ctx)
  }
  throw new UsageError(`unsupported snapshot target "${url}": use file:///dir, s3://bucket/prefix or sftp://node/path`)
}

/** Selects targets by --target (URL or index), default all. */
export function selectTargets(ctx: Context, wanted?: string[]): TargetSpec[] {
  const all = targetSpecs(ctx)
  if (!wanted || wanted.length === 0) return all
  return wanted.map((w) => {
    const hit = all.find((t, i) => t.url === w || String(i) === w)
    if (hit) return hit
    if (/^(file|s3|sftp):\/\//.test(w) || w.startsWith('/')) return {url: w}
    throw new UsageError(`unknown snapshot target "${w}" (configured: ${all.map((t) => t.url).join(', ')})`)
  })
}
