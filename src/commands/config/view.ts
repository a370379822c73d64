import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {configFileFrom} from '../../services/config/path.js'
import {type ViewData, viewConfig} from '../../services/config/view.js'

export default class ConfigView extends BaseCommand<typeof ConfigView> {
  static override summary = 'Print the config with secrets redacted'
  static override description =
    'Prints the config file as YAML (comments kept), or the JSON envelope with --json. Values of keys named like token, password, secret or key-data are redacted; file paths (identity-file, tls key) are not secrets and are shown.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --minify --context staging',
    '<%= config.bin %> <%= command.id %> --json | jq .data.config.contexts[].name',
  ]

  static override flags = {
    minify: Flags.boolean({
      description: 'show only the selected context (--context, else current-context)',
      default: false,
    }),
  }

  public async run(): Promise<ViewData> {
    const {data, yaml} = await viewConfig({
      path: configFileFrom(this.flags.config),
      minify: this.flags.minify,
      context: this.flags.context,
    })
    if (!this.jsonEnabled()) this.log(yaml)
    return data
  }
}
