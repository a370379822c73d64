import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {setExitCode} from '../../errors.js'
import {renderSnapshotInspect} from '../../output/snapshot.js'
import {inspectSnapshot, type InspectResult} from '../../services/snapshot/inspect.js'

export default class SnapshotInspect extends BaseCommand<typeof SnapshotInspect> {
  static override summary = "Show a snapshot's revision, key count, size, source and hashes"
  static override examples = [
    '<%= config.bin %> <%= command.id %> lab-20261126t101500z-r42',
    '<%= config.bin %> <%= command.id %> ./snap.db --json',
  ]
  static override args = {snapshot: Args.string({description: 'snapshot name or path to a .db file', required: true})}
  static override flags = {
    target: Flags.string({description: 'look only in this target (repeatable)', multiple: true}),
  }

  public async run(): Promise<InspectResult> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const r = await inspectSnapshot({loaded, ctx, targets: this.flags.target, idOrFile: this.args.snapshot})
    if (!r.verify.ok) setExitCode('OPERATION_FAILED')
    return r
  }

  protected override render(r: InspectResult): string {
    return renderSnapshotInspect(r)
  }
}
