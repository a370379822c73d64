import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {parseDuration, parseTimeout} from '../../config/duration.js'
import {setExitCode} from '../../errors.js'
import {createLogReporter} from '../../output/log.js'
import {progressBar} from '../../output/progress.js'
import {renderSave} from '../../output/snapshot.js'
import {runSave, type ScheduledSaveResult} from '../../services/snapshot/index.js'
import {slotOf} from '../../services/snapshot/slot.js'

export default class SnapshotSave extends BaseCommand<typeof SnapshotSave> {
  static override summary = 'Stream a verified ChainFire snapshot to every target (cron-safe)'
  static override description = `Streams the snapshot from one healthy member (a caught-up follower first, then others), checks etcd's sha256 trailer while streaming, fsyncs, renames atomically and writes a manifest. Takes a lease-backed lock in ChainFire plus a local lock file: an overlapping run exits 6 with "locked by …". Never prompts.`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --target s3://backups/chainfire --metrics-file /var/lib/node_exporter/textfile/plasmactl_snapshot.prom',
    '<%= config.bin %> <%= command.id %> --endpoint n2 --log-format json --log-file /var/log/plasmactl-snapshot.log',
  ]

  static override flags = {
    target: Flags.string({
      description: 'target URL or index from the context (repeatable; default: all configured)',
      multiple: true,
    }),
    endpoint: Flags.string({description: 'member to stream from (default: a caught-up follower)'}),
    'metrics-file': Flags.string({description: 'write Prometheus textfile metrics here (atomically)'}),
    prune: Flags.boolean({
      description: "prune after a successful save (default: the context's snapshots.prune-after-save)",
      allowNo: true,
    }),
    'log-format': Flags.string({
      description: 'stderr log format (default: json when stderr is not a terminal)',
      options: ['text', 'json'],
    }),
    'log-file': Flags.string({description: 'append logs to this file instead of stderr'}),
    timeout: Flags.string({description: 'per-call timeout for member checks', default: '5s'}),
    slot: Flags.string({
      description:
        'one snapshot per period (e.g. 1h, the schedule\'s interval) across every host running this save: periods count from the epoch in UTC; a peer that took this period\'s snapshot makes this run exit 0 with "already taken for this slot"',
    }),
  }

  public async run(): Promise<ScheduledSaveResult> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const format = (this.flags['log-format'] ?? (process.stderr.isTTY ? 'text' : 'json')) as 'text' | 'json'
    const reporter = this.collectWarnings(
      createLogReporter({format, file: this.flags['log-file'], debug: this.flags.debug, command: 'snapshot save'}),
    )
    const bar = progressBar()
    const result = await runSave({
      loaded,
      ctx,
      reporter,
      version: this.config.version,
      targets: this.flags.target,
      endpoint: this.flags.endpoint,
      timeoutMs: parseTimeout(this.flags.timeout, '--timeout'),
      slot: this.flags.slot ? slotOf(parseDuration(this.flags.slot, '--slot')) : undefined,
      metricsFile: this.flags['metrics-file'],
      prune: this.flags.prune,
      onProgress: bar.update,
    }).finally(bar.done)
    if (!result.ok) setExitCode(result.targets.some((t) => t.refused) ? 'REFUSED' : 'OPERATION_FAILED')
    return result
  }

  protected override render(result: ScheduledSaveResult): string {
    return renderSave(result)
  }
}
