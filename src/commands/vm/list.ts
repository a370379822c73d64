import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {setExitCode} from '../../errors.js'
import {renderVmList} from '../../output/vm.js'
import {checkVms, type VmCheckReport} from '../../services/vm/index.js'
import {vmListExit} from '../../services/vm/list-exit.js'

export default class VmList extends BaseCommand<typeof VmList> {
  static override summary = 'List PlasmaVMC VM records with their observed state'
  static override description =
    'Reads /plasmavmc/vms/ from ChainFire and looks at every host over SSH (QEMU process, QMP query-status). Invalid records are listed by key. ' +
    'Exit 2 when a host cannot be checked from here (our key, known_hosts, config: the problem names the file), 3 when no host could be reached.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json | jq -r \'.data.vms[] | select(.observed != "running") | .id\'',
  ]

  static override flags = {
    forks: Flags.integer({description: "hosts looked at once (pdsh's default fan-out)", default: 32, min: 1}),
  }

  public async run(): Promise<VmCheckReport> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const reporter = this.reporter()
    const report = await checkVms({loaded, ctx, reporter, forks: this.flags.forks})
    const {exit, problems} = vmListExit(report)
    for (const p of problems) reporter.warn(p)
    setExitCode(exit)
    return report
  }

  protected override render(report: VmCheckReport): string {
    return renderVmList(report)
  }
}
