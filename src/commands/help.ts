import {Args, Command, loadHelpClass} from '@oclif/core'

export default class Help extends Command {
  static override summary = 'Show help for plasmactl, a topic or a command'
  static override examples = [
    '<%= config.bin %> help',
    '<%= config.bin %> help node',
    '<%= config.bin %> help node remove',
  ]
  static override strict = false
  static override args = {command: Args.string({description: 'topic or command, e.g. "node" or "node remove"'})}

  public async run(): Promise<void> {
    const {argv} = await this.parse(Help)
    const HelpClass = await loadHelpClass(this.config)
    await new HelpClass(this.config, this.config.pjson.oclif.helpOptions ?? {}).showHelp(argv as string[])
  }
}
