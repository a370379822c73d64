import {Flags} from '@oclif/core'
import {BaseCommand, outputFlag} from '../base-command.js'
import {resolveContext} from '../config/context.js'
import {parseTimeout} from '../config/duration.js'
import {exitNameForStatus, setExitCode} from '../errors.js'
import {renderHealth, watchEvents} from '../output/health.js'
import {renderHealthPrometheus} from '../output/prometheus.js'
import {type HealthReport, type HealthWatchEnd, healthOnce, watchHealth} from '../services/health/index.js'

export default class Health extends BaseCommand<typeof Health> {
  static override summary = 'Check every component of the cluster and say plainly what is wrong'
  static override description = `Probes every ChainFire member in parallel: reachable, healthy (a linearizable read succeeds), leader, raft term/index/applied index and lag, DB size, version, alarms, cluster id agreement; and the cluster: leader, quorum, failure tolerance. Exit code: 0 ok, 4 warn, 5 crit.`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json | jq .data.status',
    '<%= config.bin %> <%= command.id %> --format prometheus > /var/lib/node_exporter/textfile/plasmactl.prom',
    '<%= config.bin %> <%= command.id %> --watch --interval 2s',
    '<%= config.bin %> <%= command.id %> -o wide',
  ]

  static override flags = {
    format: Flags.string({
      description: 'output format (use --json for JSON)',
      options: ['table', 'prometheus'],
      default: 'table',
    }),
    watch: Flags.boolean({
      char: 'w',
      description: 'refresh until interrupted; calls out leader changes and members going down or coming back',
    }),
    interval: Flags.string({description: 'refresh interval with --watch', default: '2s'}),
    output: outputFlag,
    timeout: Flags.string({description: 'per-member timeout of each check', default: '3s'}),
    component: Flags.string({description: 'only check this component (repeatable)', multiple: true}),
  }

  protected override streams(): boolean {
    return Boolean(this.flags?.watch)
  }

  public async run(): Promise<HealthReport | HealthWatchEnd> {
    if (!this.flags.watch) return healthOnce(this.flags, this.reporter())
    const {loaded, ctx} = await resolveContext(this.flags)
    const opts = {
      loaded,
      ctx,
      reporter: this.reporter(),
      timeoutMs: parseTimeout(this.flags.timeout, '--timeout'),
      components: this.flags.component,
    }
    const interval = parseTimeout(this.flags.interval, '--interval')
    const stop = this.stopOnSignal()
    let last: HealthReport | undefined
    let reports = 0
    const events = watchEvents()
    try {
      for await (const {report, changes} of watchHealth(opts, interval, stop.signal)) {
        last = report
        reports++
        // One envelope per line; the exit code each report would have on its own.
        if (this.jsonEnabled())
          this.emitEnvelope({type: 'report', ...report, changes}, report.status, exitNameForStatus(report.status))
        else {
          const under = events(report.checkedAt, changes)
          if (process.stdout.isTTY) process.stdout.write('\u001B[2J\u001B[H')
          else for (const c of changes) this.logToStderr(`${report.checkedAt} ${c}`)
          this.log(this.render(report) + (process.stdout.isTTY ? under : ''))
        }
      }
    } finally {
      stop.dispose()
    }
    // Ctrl-C exits 130, SIGTERM (systemd stop, timeout(1)) 143.
    const {exit, status} = stop.stoppedBy()
    setExitCode(exit)
    // The last line of the --json stream; on a terminal the last table is already on screen.
    return {type: 'end', status, reports, lastStatus: last?.status ?? null}
  }

  protected override render(r: HealthReport | HealthWatchEnd): string | undefined {
    if ('type' in r) return undefined
    return this.flags.format === 'prometheus'
      ? renderHealthPrometheus(r).trimEnd()
      : renderHealth(r, {wide: this.flags.output === 'wide'})
  }
}
