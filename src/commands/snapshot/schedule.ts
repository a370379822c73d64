import {Args, Flags} from '@oclif/core'
import {userInfo} from 'node:os'
import {resolve} from 'node:path'
import {isSea} from 'node:sea'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {renderScheduleFiles} from '../../output/snapshot.js'
import {installSchedule, type RenderedFile, renderSchedule} from '../../services/snapshot/schedule.js'

export default class SnapshotSchedule extends BaseCommand<typeof SnapshotSchedule> {
  static override summary =
    'Render (show) or write (install) a systemd service + timer and a crontab line for snapshot saves'
  static override examples = [
    '<%= config.bin %> <%= command.id %> show',
    '<%= config.bin %> <%= command.id %> install --dir /etc/systemd/system --on-calendar "*-*-* *:00/15:00"',
  ]

  static override args = {
    action: Args.string({description: 'show or install', options: ['show', 'install'], required: true}),
  }
  static override flags = {
    dir: Flags.string({description: 'where install writes the unit files', default: '/etc/systemd/system'}),
    'cron-dir': Flags.string({
      description: 'where install writes the crontab file (named without dots, as cron requires)',
      default: '/etc/cron.d',
    }),
    'on-calendar': Flags.string({
      description: 'systemd OnCalendar expression (checked with systemd-analyze when installed)',
      default: 'hourly',
    }),
    cron: Flags.string({description: 'crontab schedule: 5 fields, or @hourly/@daily/@weekly/…', default: '17 * * * *'}),
    user: Flags.string({description: 'user the job runs as', default: userInfo().username}),
    'metrics-file': Flags.string({
      description: 'textfile metrics path',
      default: '/var/lib/node_exporter/textfile_collector/plasmactl_snapshot.prom',
    }),
    'log-file': Flags.string({description: 'log file for the cron job', default: '/var/log/plasmactl-snapshot.log'}),
  }

  public async run(): Promise<{installed: boolean; files: RenderedFile[]}> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const files = await renderSchedule(
      {
        ctx,
        configPath: loaded.path,
        bin: isSea() ? process.execPath : resolve(this.config.root, 'bin', 'run.js'),
        user: this.flags.user,
        onCalendar: this.flags['on-calendar'],
        cron: this.flags.cron,
        cronDir: this.flags['cron-dir'],
        metricsFile: this.flags['metrics-file'],
        logFile: this.flags['log-file'],
      },
      this.flags.dir,
    )
    const installed = this.args.action === 'install'
    if (installed) await installSchedule(files)
    return {installed, files}
  }

  protected override render(r: {installed: boolean; files: RenderedFile[]}): string {
    return renderScheduleFiles(r)
  }
}
