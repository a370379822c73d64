import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {setExitCode} from '../../errors.js'
import {confirmOrFail} from '../../prompts/confirm.js'
import {renderReconcile} from '../../output/vm.js'
import {reconcileOrphans, type ReconcileOrphansResult} from '../../services/vm/index.js'

export default class VmReconcileOrphans extends BaseCommand<typeof VmReconcileOrphans> {
  static override summary = 'Find QEMU processes that no VM record accounts for, and stop them'
  static override examples = [
    '<%= config.bin %> <%= command.id %> --dry-run',
    '<%= config.bin %> <%= command.id %> --yes',
  ]
  static override flags = {
    'dry-run': Flags.boolean({description: 'list the orphans; stop nothing'}),
    yes: Flags.boolean({char: 'y', description: 'confirm without asking (required without a terminal)'}),
  }

  public async run(): Promise<ReconcileOrphansResult> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const result = await reconcileOrphans({
      loaded,
      ctx,
      reporter: this.reporter(),
      dryRun: this.flags['dry-run'],
      confirm: async (orphans) =>
        confirmOrFail(
          `Stop ${orphans.length} orphan QEMU process(es) (${orphans.map((o) => `${o.host}:${o.pid}`).join(', ')})?`,
          {yes: this.flags.yes, typed: {environment: ctx.environment, name: ctx.name, what: 'context'}},
        ),
    })
    if (result.failed.length > 0) setExitCode('OPERATION_FAILED')
    return result
  }

  protected override render(result: ReconcileOrphansResult): string {
    return renderReconcile(result)
  }
}
