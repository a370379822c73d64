import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {setExitCode} from '../../errors.js'
import {renderPrune} from '../../output/snapshot.js'
import {pruneSnapshots, type PruneResult, retentionFor} from '../../services/snapshot/index.js'

export default class SnapshotPrune extends BaseCommand<typeof SnapshotPrune> {
  static override summary = 'Apply retention (keep-last + hourly/daily/weekly/monthly) to every target'
  static override description =
    'Never deletes the newest complete snapshot. Snapshots whose manifest cannot be read are kept unless --force. Use --dry-run to see exactly what would go.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --dry-run',
    '<%= config.bin %> <%= command.id %> --keep-last 3 --daily 7 --weekly 4 --monthly 6',
  ]
  static override flags = {
    target: Flags.string({description: 'target URL or index (repeatable; default: all configured)', multiple: true}),
    'dry-run': Flags.boolean({description: 'list what would be deleted; delete nothing'}),
    force: Flags.boolean({description: 'also delete snapshots whose manifest is missing or unreadable'}),
    'keep-last': Flags.integer({description: 'keep the N newest complete snapshots', min: 1}),
    hourly: Flags.integer({description: 'keep the newest of each of the last N hours', min: 0}),
    daily: Flags.integer({description: 'keep the newest of each of the last N days', min: 0}),
    weekly: Flags.integer({description: 'keep the newest of each of the last N ISO weeks', min: 0}),
    monthly: Flags.integer({description: 'keep the newest of each of the last N months', min: 0}),
  }

  public async run(): Promise<PruneResult> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const f = this.flags
    const retention = retentionFor(ctx, {
      keepLast: f['keep-last'],
      hourly: f.hourly,
      daily: f.daily,
      weekly: f.weekly,
      monthly: f.monthly,
    })
    const r = await pruneSnapshots({
      loaded,
      ctx,
      targets: f.target,
      dryRun: f['dry-run'],
      force: f.force,
      retention,
      reporter: this.reporter(),
    })
    if (r.errors.length > 0) setExitCode('OPERATION_FAILED')
    for (const e of r.errors) this.logToStderr(`error deleting ${e.id}: ${e.error}`)
    return r
  }

  protected override render(r: PruneResult): string {
    return renderPrune(r)
  }
}
