import {Args} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {renderRun} from '../../output/runbook.js'
import {runRunbook, type RunResult} from '../../runbook/executor.js'
import {runFlags, runOptions} from '../../runbook/run-flags.js'

export default class RunbookResume extends BaseCommand<typeof RunbookResume> {
  static override summary = 'Continue an interrupted runbook run after its last completed step'
  static override description =
    "Steps (and targets) the journal records as completed are not run again; a step that was in flight runs again. Refuses if the runbook's steps changed; asks again if the cluster changed (cluster id or members). Secret params are never journaled: pass them again."
  static override examples = ['<%= config.bin %> <%= command.id %> run-20261126t101500z-a1b2c3 --yes']
  static override args = {
    runId: Args.string({description: 'run id (printed by `runbook run`, listed in the state dir)', required: true}),
  }
  static override flags = runFlags

  public async run(): Promise<RunResult> {
    const rc = await resolveContext(this.flags)
    const result = await runRunbook(
      runOptions(rc, this.flags, {
        reporter: this.reporter(),
        log: (s) => this.logToStderr(s),
        output: (s) => this.logToStderr(s),
        version: this.config.version,
        dryRun: false,
        resume: this.args.runId,
        onSecrets: (v) => this.redactOutput(v),
      }),
    )
    return result
  }

  protected override render(result: RunResult): string {
    return renderRun(result)
  }
}
