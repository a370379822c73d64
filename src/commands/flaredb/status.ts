import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {parseTimeout} from '../../config/duration.js'
import {exitNameForStatus, setExitCode, UsageError} from '../../errors.js'
import {renderFlaredb} from '../../output/components.js'
import {checkFlaredb, flaredbConfigured, flaredbStatus, type FlaredbHealth} from '../../services/flaredb/index.js'
import type {Finding, Status} from '../../services/health/types.js'

export interface FlaredbStatusResult {
  status: Status
  details: FlaredbHealth
  findings: Finding[]
}

export default class FlaredbStatus extends BaseCommand<typeof FlaredbStatus> {
  static override summary = 'Show FlareDB stores (gRPC health, heartbeats) and region replication'
  static override description =
    'Reads the placement metadata under /flaredb/ in ChainFire (see docs/flaredb-metadata.md) and checks every store with the standard gRPC health protocol. ' +
    'A heartbeat older than 3 intervals is stale; a region with fewer than 3 live replicas warns, one that lost a majority is critical. Exit code: 0 ok, 4 warn, 5 crit.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json | jq \'.data.details.regions[] | select(.status != "ok")\'',
  ]
  static override flags = {
    timeout: Flags.string({description: 'per-store timeout', default: '3s'}),
  }

  public async run(): Promise<FlaredbStatusResult> {
    const {loaded, ctx} = await resolveContext(this.flags)
    if (!flaredbConfigured(ctx))
      throw new UsageError(`context "${ctx.name}" configures no FlareDB`, {
        hint: 'add a flaredb section to the context or give nodes the role "flaredb"',
      })
    const {details, findings} = await checkFlaredb({
      loaded,
      ctx,
      timeoutMs: parseTimeout(this.flags.timeout, '--timeout'),
    })
    const result = {status: flaredbStatus(findings), details, findings}
    setExitCode(exitNameForStatus(result.status))
    return result
  }

  protected override render(result: FlaredbStatusResult): string {
    return renderFlaredb(result)
  }
}
