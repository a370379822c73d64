import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {parseTimeout} from '../../config/duration.js'
import {renderAddPlan, renderRemovePlan} from '../../output/node.js'
import {confirmOrFail} from '../../prompts/confirm.js'
import {OVERRIDABLE_CHECKS} from '../../services/node/preflight.js'
import {type NodeReplaceResult, replaceNode} from '../../services/node/replace.js'

export default class NodeReplace extends BaseCommand<typeof NodeReplace> {
  static override summary = 'Replace a node: remove OLD, then add NEW, with one plan and one confirmation'
  static override description =
    'The removal preflight and the add preflight both run before anything changes; the two step lists run under one journal (resumable) and one cluster lock.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> n2 n4 --dry-run',
    '<%= config.bin %> <%= command.id %> n2 n4 --yes',
    '<%= config.bin %> <%= command.id %> n2 n6 --address 10.0.0.16 --yes',
  ]
  static override args = {
    old: Args.string({description: 'node to remove', required: true}),
    new: Args.string({description: 'node to add in its place', required: true}),
  }

  static override flags = {
    address: Flags.string({description: 'address of NEW when the context does not list it yet'}),
    'dry-run': Flags.boolean({description: 'run both preflights and print the plan; change nothing'}),
    yes: Flags.boolean({char: 'y', description: 'confirm without asking (required without a terminal)'}),
    timeout: Flags.string({description: 'bound of each wait', default: '120s'}),
    grace: Flags.string({
      description: 'how long the stop command may take before the service is killed',
      default: '30s',
    }),
    force: Flags.string({
      description: 'override one refusing preflight check (repeatable)',
      multiple: true,
      options: [...OVERRIDABLE_CHECKS],
    }),
    resume: Flags.string({description: 'continue an interrupted replacement run'}),
  }

  public async run(): Promise<NodeReplaceResult> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const f = this.flags
    const result = await replaceNode({
      loaded,
      ctx,
      reporter: this.reporter(),
      old: this.args.old,
      new: this.args.new,
      address: f.address,
      dryRun: f['dry-run'],
      force: f.force ?? [],
      resume: f.resume,
      timeoutMs: parseTimeout(f.timeout, '--timeout'),
      graceMs: parseTimeout(f.grace, '--grace', {allowZero: true}),
      confirm: async (plan) => {
        if (!this.jsonEnabled()) this.logToStderr(`${renderRemovePlan(plan.remove)}\nthen:\n${renderAddPlan(plan.add)}`)
        return confirmOrFail(
          `Replace ${plan.remove.node} by ${plan.add.node} in context "${ctx.name}" (${ctx.environment})?`,
          {yes: f.yes, typed: {environment: ctx.environment, name: plan.remove.node, what: 'node'}},
        )
      },
    })
    if (!this.jsonEnabled()) {
      const v = result.verified
      if (result.dryRun)
        this.log(
          `dry run: nothing changed\n${renderRemovePlan(result.plan.remove)}\nthen:\n${renderAddPlan(result.plan.add)}`,
        )
      else
        this.log(
          `replaced ${result.plan.remove.node} by ${result.plan.add.node} (run ${result.runId})${v ? `: leader ${v.leader}, ${v.votersHealthy}/${v.voters} voters healthy, failure tolerance ${v.failureTolerance}` : ''}`,
        )
    }
    return result
  }
}
