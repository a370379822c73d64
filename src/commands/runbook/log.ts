import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {renderRunTranscript} from '../../output/runs.js'
import {readRunLog, renderTranscript, type RunLog} from '../../runbook/manage.js'
import {showRun} from '../../services/runs.js'

export default class RunbookLog extends BaseCommand<typeof RunbookLog> {
  static override summary =
    "Show a run's transcript (as `runs show`), or export it as a Markdown transcript for a postmortem"
  static override examples = [
    '<%= config.bin %> <%= command.id %> run-20261126t101500z-a1b2c3',
    '<%= config.bin %> <%= command.id %> run-20261126t101500z-a1b2c3 --format markdown > postmortem.md',
  ]
  static override args = {runId: Args.string({description: 'run id', required: true})}
  static override flags = {
    format: Flags.string({
      options: ['text', 'markdown'],
      default: 'text',
      description: 'text (a timeline) or markdown (the transcript template)',
    }),
  }

  public async run(): Promise<RunLog> {
    const log = await readRunLog(this.args.runId)
    return log
  }

  protected override async render(log: RunLog): Promise<string> {
    if (this.flags.format === 'markdown') return renderTranscript(log)
    // The text form is `runs show`: failures, aborts, resumes and overrides with who and when.
    return renderRunTranscript(await showRun(this.args.runId))
  }
}
