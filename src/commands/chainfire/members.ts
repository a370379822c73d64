import {Flags} from '@oclif/core'
import {BaseCommand, outputFlag} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {parseTimeout} from '../../config/duration.js'
import {setExitCode} from '../../errors.js'
import {renderChainfireMembers} from '../../output/health.js'
import {listMembers} from '../../services/chainfire/index.js'
import type {ChainfireHealth} from '../../services/health/probes/chainfire.js'

export default class ChainfireMembers extends BaseCommand<typeof ChainfireMembers> {
  static override summary = 'List ChainFire members with health, leader and learner flags'
  static override description = 'Exit 3 when no member answers (nothing could be observed).'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    "<%= config.bin %> <%= command.id %> --json | jq -r '.data.members[] | select(.leader) | .name'",
  ]
  static override flags = {
    output: outputFlag,
    timeout: Flags.string({description: 'per-member timeout', default: '3s'}),
  }

  public async run(): Promise<ChainfireHealth> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const result = await listMembers({
      loaded,
      ctx,
      reporter: this.reporter(),
      timeoutMs: parseTimeout(this.flags.timeout, '--timeout'),
    })
    // Nothing observed is a failure (as etcdctl's), not a list of members that happen to be down.
    if (result.members.every((m) => !m.reachable)) {
      this.reporter().warn('no ChainFire member answered: their state is unknown (plasmactl health says more)')
      setExitCode('OPERATION_FAILED')
    }
    return result
  }

  protected override render(result: ChainfireHealth): string {
    return renderChainfireMembers(result, {wide: this.flags.output === 'wide'})
  }
}
