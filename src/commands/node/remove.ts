import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {parseTimeout} from '../../config/duration.js'
import {renderRemovePlan, renderRemoveResult} from '../../output/node.js'
import {confirmOrFail} from '../../prompts/confirm.js'
import {confirmWipeData} from '../../prompts/node.js'
import {OVERRIDABLE_CHECKS} from '../../services/node/preflight.js'
import {type NodeRemoveResult, removeNode} from '../../services/node/remove.js'

export default class NodeRemove extends BaseCommand<typeof NodeRemove> {
  static override summary = 'Remove a node gracefully without breaking quorum'
  static override description =
    'Preflight refuses (exit 6) when the removal would lose quorum, another member is down, the node is the last member, the cluster lock is held or there is no leader; each refusal is overridden only by --force CHECK. ' +
    'Then, journaled and resumable: transfer leadership away from the node, remove the member through the Cluster API, stop the service gracefully (kill after --grace) and disable it, move the data directory aside, ' +
    'verify leader, health and the predicted failure tolerance, and mark the node removed in the context.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> n3 --dry-run',
    '<%= config.bin %> <%= command.id %> n3 --yes',
    '<%= config.bin %> <%= command.id %> n3 --yes --wipe-data --confirm-wipe n3',
    '<%= config.bin %> <%= command.id %> n3 --yes --resume node-remove-20261126t101500z-a1b2c3',
  ]

  static override args = {node: Args.string({description: 'node name in the context', required: true})}
  static override flags = {
    'dry-run': Flags.boolean({description: 'run the preflight and print the plan; change nothing'}),
    yes: Flags.boolean({char: 'y', description: 'confirm without asking (required without a terminal)'}),
    timeout: Flags.string({description: 'bound of each wait (leader transfer, final verification)', default: '60s'}),
    grace: Flags.string({
      description: 'how long the stop command may take before the service is killed',
      default: '30s',
    }),
    force: Flags.string({
      description: 'override one refusing preflight check (repeatable)',
      multiple: true,
      options: [...OVERRIDABLE_CHECKS],
    }),
    'wipe-data': Flags.boolean({description: 'delete the data directory after moving it aside (asks again)'}),
    'confirm-wipe': Flags.string({description: 'answers the --wipe-data confirmation: the node name'}),
    resume: Flags.string({description: 'continue an interrupted removal run'}),
  }

  public async run(): Promise<NodeRemoveResult> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const f = this.flags
    const result = await removeNode({
      loaded,
      ctx,
      reporter: this.reporter(),
      node: this.args.node,
      dryRun: f['dry-run'],
      force: f.force ?? [],
      wipeData: f['wipe-data'],
      resume: f.resume,
      timeoutMs: parseTimeout(f.timeout, '--timeout'),
      graceMs: parseTimeout(f.grace, '--grace', {allowZero: true}),
      confirm: async (plan) => {
        if (!this.jsonEnabled()) this.logToStderr(renderRemovePlan(plan))
        return confirmOrFail(`Remove ${plan.node} from context "${ctx.name}" (${ctx.environment})?`, {
          yes: f.yes,
          typed: {environment: ctx.environment, name: plan.node, what: 'node'},
        })
      },
      confirmWipe: (plan) => confirmWipeData(plan.node, plan.asideDir, f['confirm-wipe']),
    })
    if (!this.jsonEnabled()) this.log(renderRemoveResult(result))
    return result
  }
}
