import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {setExitCode} from '../../errors.js'
import {renderSnapshotVerify} from '../../output/snapshot.js'
import {verifySnapshot, type VerifyResult} from '../../services/snapshot/index.js'

export default class SnapshotVerify extends BaseCommand<typeof SnapshotVerify> {
  static override summary = "Recompute a snapshot's hashes: detects truncation and corruption (exit 3 when bad)"
  static override examples = [
    '<%= config.bin %> <%= command.id %> lab-20261126t101500z-r42',
    '<%= config.bin %> <%= command.id %> /var/backups/chainfire/lab-20261126t101500z-r42.db',
  ]
  static override args = {
    snapshot: Args.string({
      description: 'snapshot name (from `snapshot list`) or a path to a .db file',
      required: true,
    }),
  }
  static override flags = {
    target: Flags.string({description: 'look only in this target (repeatable)', multiple: true}),
  }

  public async run(): Promise<VerifyResult> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const result = await verifySnapshot({loaded, ctx, targets: this.flags.target, idOrFile: this.args.snapshot})
    if (!result.ok) setExitCode('OPERATION_FAILED')
    return result
  }

  protected override render(result: VerifyResult): string {
    return renderSnapshotVerify(result)
  }
}
