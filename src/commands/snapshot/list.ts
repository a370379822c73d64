import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {formatDuration} from '../../config/duration.js'
import {dash, formatBytes, paintStatus, renderTable} from '../../output/table.js'
import {type Listing, listSnapshots} from '../../services/snapshot/index.js'
import {setExitCode} from '../../errors.js'

export default class SnapshotList extends BaseCommand<typeof SnapshotList> {
  static override summary = 'List snapshots on the targets, newest first'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --target s3://backups/chainfire --json']
  static override flags = {
    target: Flags.string({description: 'target URL or index (repeatable; default: all configured)', multiple: true}),
  }

  public async run(): Promise<Listing> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const listing = await listSnapshots({loaded, ctx, targets: this.flags.target})
    const {snapshots} = listing
    if (listing.errors.length > 0) setExitCode('OPERATION_FAILED')
    if (!this.jsonEnabled()) {
      const now = Date.now()
      this.log(
        renderTable(
          ['NAME', 'AGE', 'SIZE', 'REVISION', 'KEYS', 'CLUSTER', 'SOURCE', 'STATE', 'TARGET'],
          snapshots.map((s) => [s.id, formatDuration(now - Date.parse(s.createdAt)), formatBytes(s.size), dash(s.revision), dash(s.manifest?.keyCount), dash(s.manifest?.clusterId), dash(s.manifest?.sourceMember), s.complete ? paintStatus('ok', 'complete') : paintStatus('warn', s.state), s.target]),
        ),
      )
      for (const e of listing.errors) this.logToStderr(`error: cannot list ${e.target}: ${e.error}`)
    }
    return listing
  }
}
