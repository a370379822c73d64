import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {renderSnapshotList} from '../../output/snapshot.js'
import {type Listing, listSnapshots} from '../../services/snapshot/index.js'
import {setExitCode} from '../../errors.js'

export default class SnapshotList extends BaseCommand<typeof SnapshotList> {
  static override summary = 'List snapshots on the targets, newest first'
  static override description =
    'STATE says what was checked: "size ok" means the manifest is valid and the data object has the size it records; "verified" (with --verify) means the file was read and its hashes and bbolt structure checked. Exit 3 when a target cannot be listed or, with --verify, a snapshot is corrupt; 6 when a target is refused by a safety check (a changed SFTP host key).'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --verify',
    '<%= config.bin %> <%= command.id %> --target s3://backups/chainfire --json',
  ]
  static override flags = {
    target: Flags.string({description: 'target URL or index (repeatable; default: all configured)', multiple: true}),
    verify: Flags.boolean({
      description: 'read every snapshot and verify its hashes and structure (downloads remote ones)',
    }),
  }

  public async run(): Promise<Listing> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const listing = await listSnapshots({loaded, ctx, targets: this.flags.target, verify: this.flags.verify})
    const {snapshots} = listing
    if (listing.errors.length > 0 || snapshots.some((s) => s.state === 'corrupt')) setExitCode('OPERATION_FAILED')
    if (listing.errors.some((e) => e.refused)) setExitCode('REFUSED')
    for (const e of listing.errors) this.logToStderr(`error: cannot list ${e.target}: ${e.error}`)
    return listing
  }

  protected override render(listing: Listing): string {
    return renderSnapshotList(listing)
  }
}
