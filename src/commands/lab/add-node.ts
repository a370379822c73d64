import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {labAddNode, type LabAddNodeResult} from '../../services/lab/add-node.js'

export default class LabAddNode extends BaseCommand<typeof LabAddNode> {
  static override summary = 'Give the lab one more node (sshd and service script, ChainFire not started) for `node add`'
  static override examples = ['<%= config.bin %> <%= command.id %> n4 && <%= config.bin %> node add n4 --yes']
  static override args = {name: Args.string({description: 'node name', required: true})}
  static override flags = {
    dir: Flags.string({description: 'lab directory (default: the lab of the current context)'}),
  }

  public async run(): Promise<LabAddNodeResult> {
    const result = await labAddNode(
      {name: this.args.name, dir: this.flags.dir, context: this.flags.context, configPath: this.flags.config},
      this.reporter(),
    )
    return result
  }

  protected override render(result: LabAddNodeResult): string {
    return `lab node ${result.node.name}: ${result.node.address}, sshd pid ${result.sshd.pid}; ChainFire disabled until \`plasmactl node add ${result.node.name}\``
  }
}
