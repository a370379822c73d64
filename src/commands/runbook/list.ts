import {BaseCommand} from '../../base-command.js'
import {renderTable} from '../../output/table.js'
import {listRunbooks, type RunbookSummary} from '../../runbook/loader.js'

export default class RunbookList extends BaseCommand<typeof RunbookList> {
  static override summary = 'List runbooks: yours ($XDG_CONFIG_HOME/plasmactl/runbooks, $PLASMACTL_RUNBOOK_PATH) and the shipped ones'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  public async run(): Promise<{runbooks: RunbookSummary[]}> {
    const runbooks = await listRunbooks()
    if (!this.jsonEnabled()) this.log(renderTable(['NAME', 'PARAMS', 'DESCRIPTION'], runbooks.map((r) => [r.name, r.params.join(',') || '-', r.description])))
    return {runbooks}
  }
}
