import {Args} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {setExitCode} from '../../errors.js'
import {listRunbooks} from '../../runbook/loader.js'
import {renderLint} from '../../output/runbook.js'
import {type LintResult, lintRunbooks} from '../../runbook/manage.js'

export default class RunbookLint extends BaseCommand<typeof RunbookLint> {
  static override summary =
    'Check runbooks: schema, unknown keys, duplicate ids, bad references, missing params (file:line)'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> ./my-runbook.yaml',
  ]
  static override strict = false
  static override args = {runbook: Args.string({description: 'runbook names or files (default: every runbook listed)'})}

  public async run(): Promise<LintResult> {
    const names = this.argv.filter((a) => !a.startsWith('-'))
    const result = await lintRunbooks(names.length ? names : (await listRunbooks()).map((r) => r.file))
    if (!result.ok) setExitCode('USAGE')
    return result
  }

  protected override render(result: LintResult): string {
    return renderLint(result)
  }
}
