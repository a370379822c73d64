import {Args} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {type DrillReportFiles, renderDrillReport} from '../../services/drill/report.js'

export default class DrillReport extends BaseCommand<typeof DrillReport> {
  static override summary =
    'Render a drill report directory again: report.md and timeline.svg from result.json and history.jsonl'
  static override examples = [
    '<%= config.bin %> <%= command.id %> ~/.local/state/plasmactl/drills/drill-20261202t120000z-a1b2c3',
  ]
  static override args = {dir: Args.string({description: 'the report directory a `drill run` wrote', required: true})}

  public async run(): Promise<DrillReportFiles> {
    const r = await renderDrillReport(this.args.dir)
    if (!this.jsonEnabled()) this.log(r.files.map((f) => `${r.dir}/${f}`).join('\n'))
    return r
  }
}
