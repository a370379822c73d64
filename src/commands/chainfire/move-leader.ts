import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {parseTimeout} from '../../config/duration.js'
import {moveLeader, type MoveLeaderResult} from '../../services/chainfire/index.js'

export default class ChainfireMoveLeader extends BaseCommand<typeof ChainfireMoveLeader> {
  static override summary = 'Transfer ChainFire leadership gracefully to another member'
  static override description =
    'Without --to, leadership goes to the most caught-up healthy follower. Waits until the new leader is in charge. Refuses (exit 6) when the cluster has no leader, the target is a learner or unhealthy, or another change holds the cluster lock (the refusal names its holder).'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --to n2',
    '<%= config.bin %> <%= command.id %> --dry-run',
  ]
  static override flags = {
    to: Flags.string({description: 'member name (or hex id) to hand leadership to'}),
    'dry-run': Flags.boolean({description: 'show which member would take over; change nothing'}),
    wait: Flags.string({description: 'how long to wait for the new leader', default: '15s'}),
    timeout: Flags.string({description: 'per-call timeout', default: '3s'}),
  }

  public async run(): Promise<MoveLeaderResult> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const result = await moveLeader({
      loaded,
      ctx,
      reporter: this.reporter(),
      to: this.flags.to,
      dryRun: this.flags['dry-run'],
      timeoutMs: parseTimeout(this.flags.timeout, '--timeout'),
      waitMs: parseTimeout(this.flags.wait, '--wait'),
    })
    return result
  }

  protected override render(result: MoveLeaderResult): string {
    if (result.changed)
      return `leadership moved ${result.from} → ${result.to} in ${result.elapsedMs} ms (term ${result.termBefore} → ${result.termAfter})`
    return `${result.dryRun ? 'dry run: ' : ''}${result.from} → ${result.to}: ${result.reason}`
  }
}
