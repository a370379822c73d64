import {BaseCommand} from '../../base-command.js'
import {renderRunbookList} from '../../output/runbook.js'
import {type ListedRunbook, listRunbooksLinted} from '../../runbook/manage.js'

export default class RunbookList extends BaseCommand<typeof RunbookList> {
  static override summary =
    'List runbooks: yours ($XDG_CONFIG_HOME/plasmactl/runbooks, $PLASMACTL_RUNBOOK_PATH) and the shipped ones'
  static override description =
    'Each runbook is linted: one that does not lint (it cannot run as it is) is marked in the LINT column (lintErrors in --json).'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  public async run(): Promise<{runbooks: ListedRunbook[]}> {
    const runbooks = await listRunbooksLinted()
    const bad = runbooks.filter((r) => r.lintErrors > 0)
    if (bad.length > 0)
      this.reporter().warn(
        `${bad.map((r) => r.name).join(', ')} ${bad.length === 1 ? 'does' : 'do'} not lint and cannot run: see \`plasmactl runbook lint ${bad[0].name}\``,
      )
    return {runbooks}
  }

  protected override render(result: {runbooks: ListedRunbook[]}): string {
    return renderRunbookList(result.runbooks)
  }
}
