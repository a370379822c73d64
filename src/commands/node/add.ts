import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {parseTimeout} from '../../config/duration.js'
import {renderAddPlan, renderAddResult} from '../../output/node.js'
import {confirmOrFail} from '../../prompts/confirm.js'
import {addNode, type NodeAddResult} from '../../services/node/add.js'
import {OVERRIDABLE_CHECKS} from '../../services/node/preflight.js'

export default class NodeAdd extends BaseCommand<typeof NodeAdd> {
  static override summary = 'Add a node as a ChainFire learner, start it with join settings, promote it once caught up'
  static override description =
    'The member is added as a learner (it does not count for quorum), its join settings (initial cluster from the MemberAdd answer, state "existing") are written through the context\'s env-file or join-command, ' +
    'the service is enabled and started, and once the learner has caught up it is promoted to voter. Journaled and resumable (--resume RUN_ID). See docs/node-lifecycle.md.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> n4 --dry-run',
    '<%= config.bin %> <%= command.id %> n4 --yes',
    '<%= config.bin %> <%= command.id %> n4 --address 10.0.0.14 --yes',
  ]

  static override args = {
    node: Args.string({description: 'node name (in the context, or new with --address)', required: true}),
  }
  static override flags = {
    address: Flags.string({
      description: 'address of a node the context does not list yet (it is added to the context)',
    }),
    'dry-run': Flags.boolean({description: 'run the preflight and print the plan; change nothing'}),
    yes: Flags.boolean({char: 'y', description: 'confirm without asking (required without a terminal)'}),
    timeout: Flags.string({description: 'bound of each wait (catch-up, promotion, verification)', default: '120s'}),
    force: Flags.string({
      description: 'override one refusing preflight check (repeatable)',
      multiple: true,
      options: [...OVERRIDABLE_CHECKS],
    }),
    resume: Flags.string({description: 'continue an interrupted add run'}),
  }

  public async run(): Promise<NodeAddResult> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const f = this.flags
    const result = await addNode({
      loaded,
      ctx,
      reporter: this.reporter(),
      node: this.args.node,
      address: f.address,
      dryRun: f['dry-run'],
      force: f.force ?? [],
      resume: f.resume,
      timeoutMs: parseTimeout(f.timeout, '--timeout'),
      confirm: async (plan) => {
        if (!this.jsonEnabled()) this.logToStderr(renderAddPlan(plan))
        return confirmOrFail(
          `Add ${plan.node} to the ChainFire cluster of context "${ctx.name}" (${ctx.environment})?`,
          {yes: f.yes, typed: {environment: ctx.environment, name: plan.node, what: 'node'}},
        )
      },
    })
    if (!this.jsonEnabled()) this.log(renderAddResult(result))
    return result
  }
}
