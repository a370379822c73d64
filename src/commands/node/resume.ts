import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {parseTimeout} from '../../config/duration.js'
import {resumeNodeRun, type ResumedRun} from '../../services/node/resume.js'

export default class NodeResume extends BaseCommand<typeof NodeResume> {
  static override summary = 'Continue an interrupted node remove/add/replace run after its last completed step'
  static override examples = ['<%= config.bin %> <%= command.id %> node-remove-20261126t101500z-a1b2c3']
  static override args = {
    run: Args.string({
      description: 'run id (printed when the run started; journals in $XDG_STATE_HOME/plasmactl/node-runs)',
      required: true,
    }),
  }
  static override flags = {
    timeout: Flags.string({description: 'bound of each wait', default: '120s'}),
    grace: Flags.string({
      description: 'how long the stop command may take before the service is killed',
      default: '30s',
    }),
  }

  public async run(): Promise<ResumedRun> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const result = await resumeNodeRun({
      loaded,
      ctx,
      reporter: this.reporter(),
      runId: this.args.run,
      timeoutMs: parseTimeout(this.flags.timeout, '--timeout'),
      graceMs: parseTimeout(this.flags.grace, '--grace', {allowZero: true}),
    })
    if (!this.jsonEnabled())
      this.log(
        `run ${result.runId} (${result.op}) finished${result.skipped.length ? `; skipped ${result.skipped.length} steps completed earlier (${result.skipped.join(', ')})` : ''}`,
      )
    return result
  }
}
