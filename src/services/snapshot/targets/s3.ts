import type {LoadedConfig} from '../../../config/load.js'
import type {Context} from '../../../config/schema.js'
import {UsageError} from '../../../errors.js'
import type {TargetSpec} from './index.js'
import type {SnapshotTarget} from './types.js'

export async function openS3Target(spec: TargetSpec, _loaded: LoadedConfig, _ctx: Context): Promise<SnapshotTarget> {
  throw new UsageError(`S3 snapshot targets are not supported yet (${spec.url})`)
}
