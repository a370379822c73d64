import {Flags} from '@oclif/core'
import {BaseCommand, outputFlag} from '../base-command.js'
import {resolveContext} from '../config/context.js'
import {parseTimeout} from '../config/duration.js'
import {exitNameForStatus, setExitCode} from '../errors.js'
import {renderHealth} from '../output/health.js'
import {renderHealthPrometheus} from '../output/prometheus.js'
import {checkHealth, type HealthReport, watchHealth} from '../services/health/index.js'

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
    format: Flags.string({description: 'output format (use --json for JSON)', options: ['table', 'prometheus'], default: 'table'}),
    watch: Flags.boolean({char: 'w', description: 'refresh until interrupted; calls out leader changes and members going down or coming back'}),
    interval: Flags.string({description: 'refresh interval with --watch', default: '2s'}),
    output: outputFlag,
    timeout: Flags.string({description: 'per-member timeout of each check', default: '3s'}),
    component: Flags.string({description: 'only check this component (repeatable)', multiple: true}),
  }

  public async run(): Promise<HealthReport | undefined> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const opts = {loaded, ctx, reporter: this.reporter(), timeoutMs: parseTimeout(this.flags.timeout, '--timeout'), components: this.flags.component}
    const render = (r: HealthReport) => (this.flags.format === 'prometheus' ? renderHealthPrometheus(r).trimEnd() : renderHealth(r, {wide: this.flags.output === 'wide'}))
    if (!this.flags.watch) {
      const report = await checkHealth(opts)
      setExitCode(exitNameForStatus(report.status))
      if (!this.jsonEnabled()) this.log(render(report))
      return report
    }
    const abort = new AbortController()
    process.once('SIGINT', () => abort.abort())
    let last: HealthReport | undefined
    const events: string[] = []
    for await (const {report, changes} of watchHealth(opts, parseTimeout(this.flags.interval, '--interval'), abort.signal)) {
      last = report
      // One JSON object per line (oclif's log() is silent in --json mode).
      if (this.jsonEnabled()) process.stdout.write(JSON.stringify({...report, changes}) + '\n')
      else {
        // Changes stay on screen under the table (the last 10), so a blip is not lost on the next refresh.
        events.push(...changes.map((c) => `${report.checkedAt} ${c}`))
        events.splice(0, Math.max(0, events.length - 10))
        if (process.stdout.isTTY) process.stdout.write('\u001B[2J\u001B[H')
        else for (const c of changes) this.logToStderr(`${report.checkedAt} ${c}`)
        this.log(render(report) + (process.stdout.isTTY && events.length > 0 ? `\n\nEvents:\n  ${events.join('\n  ')}` : ''))
      }
    }
    setExitCode('INTERRUPTED')
    return this.jsonEnabled() ? undefined : last
  }
}
