import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {renderVmList} from '../../output/vm.js'
import {checkVms, type VmCheckReport} from '../../services/vm/index.js'

export default class VmList extends BaseCommand<typeof VmList> {
  static override summary = 'List PlasmaVMC VM records with their observed state'
  static override description = 'Reads /plasmavmc/vms/ from ChainFire and looks at every host over SSH (QEMU process, QMP query-status). Invalid records are listed by key.'
  static override examples = ['<%= config.bin %> <%= command.id %>', "<%= config.bin %> <%= command.id %> --json | jq -r '.data.vms[] | select(.observed != \"running\") | .id'"]

  public async run(): Promise<VmCheckReport> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const report = await checkVms({loaded, ctx, reporter: this.reporter()})
    if (!this.jsonEnabled()) this.log(renderVmList(report))
    return report
  }
}
