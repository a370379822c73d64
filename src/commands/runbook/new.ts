import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {newRunbook} from '../../runbook/manage.js'

export default class RunbookNew extends BaseCommand<typeof RunbookNew> {
  static override summary = 'Scaffold a new runbook from templates/runbook/scaffold.yaml'
  static override examples = [
    '<%= config.bin %> <%= command.id %> chainfire/my-fix',
    '<%= config.bin %> <%= command.id %> my-fix --dir ./runbooks',
  ]
  static override args = {name: Args.string({description: 'runbook name (folders with "/")', required: true})}
  static override flags = {
    dir: Flags.string({description: 'where to write it (default: $XDG_CONFIG_HOME/plasmactl/runbooks)'}),
  }

  public async run(): Promise<{name: string; file: string}> {
    const r = await newRunbook(this.args.name, this.flags.dir)
    return r
  }

  protected override render(r: {name: string; file: string}): string {
    return `created ${r.file}\nnext: plasmactl runbook lint ${r.file} && plasmactl runbook run ${r.file} --dry-run`
  }
}
