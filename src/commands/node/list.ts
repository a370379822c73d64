import {Flags} from '@oclif/core'
import {BaseCommand, outputFlag} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {parseTimeout} from '../../config/duration.js'
import {setExitCode} from '../../errors.js'
import {renderNodeList} from '../../output/node.js'
import {listNodes, type NodeListResult} from '../../services/node/list.js'

export default class NodeList extends BaseCommand<typeof NodeList> {
  static override summary =
    'List nodes with their roles and per-component state (ChainFire member id, voter/learner, leader, health)'
  static override description = 'Exit 3 when no ChainFire member answers (nothing could be observed).'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    "<%= config.bin %> <%= command.id %> --json | jq -r '.data.nodes[] | select(.chainfire.leader) | .name'",
  ]
  static override flags = {
    output: outputFlag,
    timeout: Flags.string({description: 'per-member timeout', default: '3s'}),
  }

  public async run(): Promise<NodeListResult> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const result = await listNodes({loaded, ctx, timeoutMs: parseTimeout(this.flags.timeout, '--timeout')})
    if (!this.jsonEnabled()) this.log(renderNodeList(result, {wide: this.flags.output === 'wide'}))
    // A ChainFire cluster of which no member answered: nothing was observed (exit 3, as etcdctl).
    if ((result.cluster || result.error) && !result.nodes.some((n) => n.chainfire?.reachable)) {
      this.reporter().warn("no ChainFire member answered: the nodes' member state is unknown")
      setExitCode('OPERATION_FAILED')
    }
    return result
  }
}
