import {Args} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {useContext, type UseContextResult} from '../../services/config/contexts.js'
import {configFileFrom} from '../../services/config/path.js'

export default class ConfigUseContext extends BaseCommand<typeof ConfigUseContext> {
  static override summary = 'Make a context the current one'
  static override description =
    'Rewrites current-context in place: comments and layout of the file are kept, and the result is validated before it is written atomically.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> staging',
    '<%= config.bin %> <%= command.id %> prod-eu1 --config ./clusters.yaml',
  ]

  static override args = {
    name: Args.string({description: 'context to make current', required: true}),
  }

  public async run(): Promise<UseContextResult> {
    const result = await useContext({path: configFileFrom(this.flags.config), name: this.args.name})
    return result
  }

  protected override render(result: UseContextResult): string {
    return result.changed
      ? `switched to context "${result.currentContext}"`
      : `context "${result.currentContext}" is already current`
  }
}
