import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {setExitCode} from '../../errors.js'
import {renderTable} from '../../output/table.js'
import {confirmOrFail} from '../../prompts/confirm.js'
import {evacuateHost, type EvacuationResult} from '../../services/vm/index.js'

export default class VmEvacuate extends BaseCommand<typeof VmEvacuate> {
  static override summary =
    'Host failure: restart the VMs of a failed host on other hosts where their records allow it; report the rest'
  static override examples = [
    '<%= config.bin %> <%= command.id %> n1 --dry-run',
    '<%= config.bin %> <%= command.id %> n1 --yes',
  ]
  static override args = {host: Args.string({description: 'the failed host (node name)', required: true})}
  static override flags = {
    'dry-run': Flags.boolean({description: 'list the affected VMs and where each would go; change nothing'}),
    yes: Flags.boolean({char: 'y', description: 'confirm without asking (required without a terminal)'}),
    force: Flags.boolean({description: 'evacuate even though the host answers and its service is active'}),
  }

  public async run(): Promise<EvacuationResult> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const result = await evacuateHost({
      loaded,
      ctx,
      reporter: this.reporter(),
      host: this.args.host,
      dryRun: this.flags['dry-run'],
      force: this.flags.force,
      confirm: async (items) =>
        confirmOrFail(
          `Restart ${items
            .filter((i) => i.toHost)
            .map((i) => `${i.id}->${i.toHost}`)
            .join(', ')} away from ${this.args.host}?`,
          {yes: this.flags.yes, typed: {environment: ctx.environment, name: this.args.host, what: 'host'}},
        ),
    })
    if (result.vms.some((v) => v.outcome === 'failed')) setExitCode('OPERATION_FAILED')
    else if (result.vms.some((v) => v.outcome === 'pinned' || v.outcome === 'no-target')) setExitCode('HEALTH_WARN')
    return result
  }

  protected override render(result: EvacuationResult): string {
    return renderTable(
      ['VM', 'NAME', 'OUTCOME', 'TO'],
      result.vms.map((v) => [v.id, v.name, v.outcome, v.toHost ?? (v.error ? `error: ${v.error}` : '-')]),
    )
  }
}
