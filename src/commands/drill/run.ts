import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {RefusedError, setExitCode} from '../../errors.js'
import {renderDrillSummary} from '../../output/drill.js'
import {confirmProductionDrill} from '../../prompts/drill.js'
import {DEFAULT_CLIENTS, DEFAULT_RATE, runDrill} from '../../services/drill/run.js'
import type {DrillResult} from '../../services/drill/types.js'

export default class DrillRun extends BaseCommand<typeof DrillRun> {
  static override summary =
    'Run an HA drill: inject a fault under a recorded workload, recover, check the history, measure, judge the SLOs'
  static override description =
    'Every fault is reverted automatically, also if plasmactl dies (a dead-man timer on the node). The run is journaled in $STATE/drills and holds the cluster lock; ' +
    'Ctrl-C reverts the fault and exits 130. Exit 0 when every objective passes, 3 when one fails. Refused on a production context unless --allow-production and the context name typed.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> leader-kill',
    '<%= config.bin %> <%= command.id %> follower-stop --hold 10s --json',
    '<%= config.bin %> <%= command.id %> member-kill --node n2 --no-recover',
    '<%= config.bin %> <%= command.id %> quorum-loss --source latest --accept-data-loss',
    '<%= config.bin %> <%= command.id %> rolling-restart --json',
    '<%= config.bin %> <%= command.id %> restore-rehearsal',
    '<%= config.bin %> <%= command.id %> restore-rehearsal --members 3',
    '<%= config.bin %> <%= command.id %> vm-qemu-kill --node h1',
  ]

  static override args = {name: Args.string({description: 'the drill (see `drill list`)', required: true})}
  static override flags = {
    node: Flags.string({
      description:
        'the member to hit (member-kill; overrides the leader/follower choice of other drills); component drills: the VM host, IAM node, FlareDB store node or OVN NB member',
    }),
    hold: Flags.integer({description: 'seconds the fault stays before recovery', default: 5, min: 1, max: 600}),
    baseline: Flags.integer({description: 'seconds of workload before the fault', default: 3, min: 1, max: 600}),
    after: Flags.integer({description: 'seconds of workload once tolerance is back', default: 3, min: 0, max: 600}),
    clients: Flags.integer({description: 'workload clients', default: DEFAULT_CLIENTS, min: 1, max: 64}),
    rate: Flags.integer({description: 'workload operations per second (all clients)', default: DEFAULT_RATE, min: 1}),
    'no-recover': Flags.boolean({description: 'no recovery: the dead-man timer reverts the fault after --hold'}),
    source: Flags.string({
      description: 'quorum-loss: where the recovery restores from: freshest (default), a node, a snapshot id, latest',
    }),
    'accept-data-loss': Flags.boolean({
      description:
        'quorum-loss: let the recovery restore from a source older than the freshest (the drill then measures the loss)',
    }),
    'no-snapshot': Flags.boolean({
      description: 'quorum-loss and partition drills: run without a verified snapshot younger than an hour',
    }),
    members: Flags.integer({description: 'restore-rehearsal: throwaway cluster size (default 1)', min: 1, max: 7}),
    'report-dir': Flags.string({description: 'where the report goes (default $STATE/drills/RUN_ID)'}),
    'allow-production': Flags.boolean({
      description: 'allow a drill on a production context (the context name must also be typed at a prompt)',
    }),
  }

  public async run(): Promise<DrillResult> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const f = this.flags
    let productionConfirmed = false
    if (ctx.environment === 'production' && f['allow-production']) {
      productionConfirmed = await confirmProductionDrill(ctx.name, this.args.name)
      if (!productionConfirmed) throw new RefusedError('the typed name does not match the context: drill not run')
    }
    const result = await runDrill({
      loaded,
      ctx,
      reporter: this.reporter(),
      name: this.args.name,
      node: f.node,
      baselineSeconds: f.baseline,
      holdSeconds: f.hold,
      afterSeconds: f.after,
      clients: f.clients,
      rate: f.rate,
      recover: !f['no-recover'],
      productionConfirmed,
      reportDir: f['report-dir'],
      source: f.source,
      acceptDataLoss: f['accept-data-loss'],
      noSnapshot: f['no-snapshot'],
      members: f.members,
    })
    if (result.verdict === 'fail') setExitCode('OPERATION_FAILED')
    if (!this.jsonEnabled()) this.log(renderDrillSummary(result))
    return result
  }
}
