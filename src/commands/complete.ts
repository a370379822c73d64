import {Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {type CompletableCommand, complete} from '../services/completion.js'

/** Called by the completion scripts: prints the candidates for the last word, one per line. */
export default class Complete extends BaseCommand<typeof Complete> {
  static override hidden = true
  static override aliases = ['__complete']
  static override summary = 'Completion candidates for the words after --, one per line (used by `completion bash|zsh`)'
  static override strict = false
  static override enableJsonFlag = false
  static override flags = {
    shell: Flags.string({options: ['bash', 'zsh'], default: 'bash', description: 'the asking shell'}),
  }

  public async run(): Promise<void> {
    const i = this.argv.indexOf('--')
    const words = i === -1 ? [''] : this.argv.slice(i + 1)
    const commands: CompletableCommand[] = this.config.commands
      .filter((c) => !c.hidden && !c.id.startsWith('_'))
      .map((c) => ({
        id: c.id,
        flags: Object.entries(c.flags ?? {}).map(([name, f]) => ({
          name,
          char: f.char,
          takesValue: f.type === 'option',
          options: f.type === 'option' ? f.options : undefined,
        })),
      }))
    const out = await complete({
      words: words.length > 0 ? words : [''],
      commands,
      shell: this.flags.shell as 'bash' | 'zsh',
    })
    if (out.length > 0) this.log(out.join('\n'))
  }
}
