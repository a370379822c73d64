import {Args} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {completionScript} from '../output/completion.js'

export default class Completion extends BaseCommand<typeof Completion> {
  static override summary = 'Print a bash or zsh completion script (commands, flags, context, node and runbook names)'
  static override description =
    'Names come from your config when you press TAB: contexts for --context and config use-context, nodes of the selected context for node remove, exec, -p node=, --to, runbooks for runbook run/show.'
  static override examples = [
    'eval "$(<%= config.bin %> <%= command.id %> bash)"',
    'eval "$(<%= config.bin %> <%= command.id %> zsh)"',
    '<%= config.bin %> <%= command.id %> zsh > "${fpath[1]}/_<%= config.bin %>"',
  ]
  static override enableJsonFlag = false
  static override args = {shell: Args.string({description: 'the shell', options: ['bash', 'zsh'], required: true})}

  public async run(): Promise<void> {
    this.log(completionScript(this.args.shell as 'bash' | 'zsh', this.config.bin).trimEnd())
  }
}
