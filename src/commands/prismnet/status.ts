import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {parseTimeout} from '../../config/duration.js'
import {exitNameForStatus, setExitCode, UsageError} from '../../errors.js'
import {renderPrismnet} from '../../output/components.js'
import {worst, type Finding, type Status} from '../../services/health/types.js'
import {checkPrismnet, prismnetConfigured, type PrismnetHealth} from '../../services/prismnet/index.js'

export interface PrismnetStatusResult {
  status: Status
  details: PrismnetHealth
  findings: Finding[]
}

export default class PrismnetStatus extends BaseCommand<typeof PrismnetStatus> {
  static override summary =
    'Show the OVN Northbound/Southbound DB clusters behind PrismNet: leader, members, connection state'
  static override description =
    'Reads list_dbs and the _Server database of every configured OVSDB remote (RFC 7047 over tcp: or ssl:). Exit code: 0 ok, 4 warn, 5 crit.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json | jq -r .data.details.nb.leader',
  ]
  static override flags = {
    timeout: Flags.string({description: 'per-member timeout', default: '3s'}),
  }

  public async run(): Promise<PrismnetStatusResult> {
    const {loaded, ctx} = await resolveContext(this.flags)
    if (!prismnetConfigured(ctx))
      throw new UsageError(`context "${ctx.name}" configures no PrismNet databases`, {
        hint: 'add prismnet.nb (and prismnet.sb) remotes like tcp:10.0.0.1:6641 to the context',
      })
    const {details, findings} = await checkPrismnet({
      loaded,
      ctx,
      timeoutMs: parseTimeout(this.flags.timeout, '--timeout'),
    })
    const result = {status: worst(findings.map((f) => f.status)), details, findings}
    setExitCode(exitNameForStatus(result.status))
    return result
  }

  protected override render(result: PrismnetStatusResult): string {
    return renderPrismnet(result)
  }
}
