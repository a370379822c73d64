import {Args} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {renderRunTranscript} from '../../output/runs.js'
import {type ShownRun, showRun} from '../../services/runs.js'

export default class RunsShow extends BaseCommand<typeof RunsShow> {
  static override summary =
    'Show the transcript of a run of any kind: every step, failure, retry, abort, resume and override, with who and when'
  static override examples = [
    '<%= config.bin %> <%= command.id %> run-20261126t101500z-a1b2c3',
    '<%= config.bin %> <%= command.id %> node-remove-20261126t101500z-a1b2c3 --json',
  ]
  static override args = {run: Args.string({description: 'run id (see `runs list`)', required: true})}

  public async run(): Promise<ShownRun> {
    const t = await showRun(this.args.run)
    if (!this.jsonEnabled()) this.log(renderRunTranscript(t))
    return t
  }
}
