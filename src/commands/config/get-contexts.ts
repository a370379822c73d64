import {BaseCommand} from '../../base-command.js'
import {getContexts, type GetContextsResult} from '../../services/config/contexts.js'
import {configFileFrom} from '../../services/config/path.js'
import {formatContexts} from '../../output/contexts.js'

export default class ConfigGetContexts extends BaseCommand<typeof ConfigGetContexts> {
  static override summary = 'List the contexts in the config file'
  static override description =
    'One row per context: current marker, name, environment, active nodes and ChainFire endpoints.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    "<%= config.bin %> <%= command.id %> --json | jq -r '.data.contexts[] | select(.current) | .name'",
  ]

  public async run(): Promise<GetContextsResult> {
    const result = await getContexts({path: configFileFrom(this.flags.config)})
    return result
  }

  protected override render(result: GetContextsResult): string {
    return formatContexts(result)
  }
}
