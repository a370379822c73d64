import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {parseTimeout} from '../../config/duration.js'
import {runFlags, runOptions} from '../../runbook/run-flags.js'
import {contextOfRun, resumeRun, type ResumeRunResult} from '../../services/runs.js'

export default class RunsResume extends BaseCommand<typeof RunsResume> {
  static override summary =
    'Continue an aborted or interrupted run of any kind (runbook, node, restore) after its last completed step'
  static override description =
    "Dispatches to the run's own engine: completed steps are skipped, the interrupted step checks what it needs (not the run's start preconditions: the run itself may have stopped a member). " +
    'A run that had finished is left alone (exit 0, "nothing to do"). The context defaults to the run\'s. Overrides are named (--force quorum) and journaled.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> run-20261126t101500z-a1b2c3 --yes',
    '<%= config.bin %> <%= command.id %> node-remove-20261126t101500z-a1b2c3',
  ]
  static override args = {run: Args.string({description: 'run id (see `runs list`)', required: true})}
  static override flags = {
    ...runFlags,
    timeout: Flags.string({description: 'node and restore runs: bound of each wait', default: '120s'}),
    grace: Flags.string({
      description: 'node runs: how long the stop command may take before the service is killed',
      default: '30s',
    }),
  }

  public async run(): Promise<ResumeRunResult> {
    const context = this.flags.context ?? (await contextOfRun(this.args.run))
    const rc = await resolveContext({...this.flags, context})
    const reporter = this.reporter()
    const result = await resumeRun({
      id: this.args.run,
      loaded: rc.loaded,
      ctx: rc.ctx,
      reporter,
      runbook: runOptions(rc, this.flags, {
        reporter,
        log: (s) => this.logToStderr(s),
        output: (s) => this.logToStderr(s),
        version: this.config.version,
        dryRun: false,
        resume: this.args.run,
        onSecrets: (v) => this.redactOutput(v),
      }),
      timeoutMs: parseTimeout(this.flags.timeout, '--timeout'),
      graceMs: parseTimeout(this.flags.grace, '--grace', {allowZero: true}),
    })
    if (!this.jsonEnabled())
      this.log(
        result.outcome === 'nothing-to-do'
          ? `run ${result.runId} had already finished: nothing to do`
          : `run ${result.runId} (${result.kind}) resumed and finished`,
      )
    return result
  }
}
