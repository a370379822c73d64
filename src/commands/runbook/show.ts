import {Args} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {showRunbook} from '../../runbook/manage.js'

export default class RunbookShow extends BaseCommand<typeof RunbookShow> {
  static override summary = 'Show a runbook: its file, params and steps'
  static override examples = ['<%= config.bin %> <%= command.id %> chainfire/restart-node']
  static override args = {runbook: Args.string({description: 'runbook name or file', required: true})}

  public async run(): Promise<Awaited<ReturnType<typeof showRunbook>>> {
    const r = await showRunbook(this.args.runbook)
    return r
  }

  protected override render(r: Awaited<ReturnType<typeof showRunbook>>): string {
    return `# ${r.name} (${r.file})\n${r.text.trimEnd()}`
  }
}
