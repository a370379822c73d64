import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {renderLabStatus} from '../../output/lab.js'
import {setExitCode} from '../../errors.js'
import {labStatus, type LabStatusResult} from '../../services/lab/index.js'

export default class LabStatus extends BaseCommand<typeof LabStatus> {
  static override summary = 'Show the lab nodes: sshd, ChainFire member and health endpoint'
  static override description =
    'Exit code 0 when everything is up, 4 when something is down but a majority is healthy, 5 without quorum.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --dir /tmp/lab2 --json',
  ]

  static override flags = {
    dir: Flags.string({description: 'lab directory (default: from the lab context, else the default lab dir)'}),
  }

  public async run(): Promise<LabStatusResult> {
    const result = await labStatus({dir: this.flags.dir, context: this.flags.context, configPath: this.flags.config})
    if (result.status === 'degraded') setExitCode('HEALTH_WARN')
    if (result.status === 'down') setExitCode('HEALTH_CRIT')
    return result
  }

  protected override render(result: LabStatusResult): string {
    return renderLabStatus(result)
  }
}
