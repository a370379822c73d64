import type {LoadedConfig} from '../../../config/load.js'
import type {Context} from '../../../config/schema.js'
import {UsageError} from '../../../errors.js'
import type {TargetSpec} from './index.js'
import type {SnapshotTarget} from './types.js'

export async function openSftpTarget(spec: TargetSpec, _loaded: LoadedConfig, _ctx: Context): Promise<SnapshotTarget> {
  throw new UsageError(`SFTP snapshot targets are not supported yet (${spec.url})`)
}
