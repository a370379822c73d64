import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {confirmOrFail} from '../../prompts/confirm.js'
import {renderVmRestart} from '../../output/vm.js'
import {restartVm, type VmRestartResult} from '../../services/vm/index.js'

export default class VmRestart extends BaseCommand<typeof VmRestart> {
  static override summary = "Restart a VM with its host's start command (stops a hung or paused QEMU first)"
  static override description =
    'With --host, starts it on another host (host failure) if the record allows it (relocatable, allowedHosts) and updates the record. Waits until QMP reports running. Holds the cluster lock (as vm evacuate and vm reconcile-orphans do): while another change holds it, refuses (exit 6) naming the holder.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> vm-n1-01 --yes',
    '<%= config.bin %> <%= command.id %> vm-n1-01 --host n2 --dry-run',
  ]
  static override args = {id: Args.string({description: 'VM id (the key under /plasmavmc/vms/)', required: true})}
  static override flags = {
    host: Flags.string({description: "start it on this host instead of the record's (the record must allow it)"}),
    yes: Flags.boolean({char: 'y', description: 'confirm without asking (required without a terminal)'}),
    'dry-run': Flags.boolean({description: 'show what would be done; change nothing'}),
  }

  public async run(): Promise<VmRestartResult> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const result = await restartVm({
      loaded,
      ctx,
      reporter: this.reporter(),
      id: this.args.id,
      host: this.flags.host,
      dryRun: this.flags['dry-run'],
      confirm: async (plan) => {
        this.logToStderr(plan.steps.map((s, i) => `  ${i + 1}. ${s}`).join('\n'))
        return confirmOrFail(`Restart VM ${plan.id} (${plan.name}) on ${plan.toHost} in context "${ctx.name}"?`, {
          yes: this.flags.yes,
          typed: {environment: ctx.environment, name: plan.toHost, what: 'host'},
        })
      },
    })
    return result
  }

  protected override render(result: VmRestartResult): string {
    return renderVmRestart(result)
  }
}
