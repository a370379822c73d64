import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {parseTimeout} from '../../config/duration.js'
import {exitNameForStatus, setExitCode} from '../../errors.js'
import {renderVmCheck} from '../../output/vm.js'
import {checkVms, type VmCheckReport} from '../../services/vm/index.js'

export default class VmCheck extends BaseCommand<typeof VmCheck> {
  static override summary = 'Check VM records against the hosts: crashed, hung, paused, orphaned QEMU, invalid records'
  static override description =
    'Per host, over one SSH connection: host reachable, PlasmaVMC service active, QEMU processes; per VM a QMP query-status through an SSH stream-local forward to its socket. ' +
    'Exit 0 when all is well, 4 for warnings (paused, orphans, invalid records), 5 for critical problems (crashed, hung, host down).'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --host n1 --qmp-timeout 1s --json',
  ]
  static override flags = {
    host: Flags.string({description: 'check only this host (repeatable)', multiple: true}),
    'qmp-timeout': Flags.string({
      description: 'deadline of each QMP step (default: context plasmavmc.qmp-timeout or 2s)',
    }),
    forks: Flags.integer({description: "hosts checked at once (pdsh's default fan-out)", default: 32, min: 1}),
  }

  public async run(): Promise<VmCheckReport> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const f = this.flags
    const report = await checkVms({
      loaded,
      ctx,
      reporter: this.reporter(),
      hosts: f.host,
      qmpTimeoutMs: f['qmp-timeout'] ? parseTimeout(f['qmp-timeout'], '--qmp-timeout') : undefined,
      forks: f.forks,
    })
    setExitCode(exitNameForStatus(report.status))
    return report
  }

  protected override render(report: VmCheckReport): string {
    return renderVmCheck(report)
  }
}
