import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {renderPlan, renderRun} from '../../output/runbook.js'
import {runRunbook, type RunResult} from '../../runbook/executor.js'
import {runFlags, runOptions} from '../../runbook/run-flags.js'

export default class RunbookRun extends BaseCommand<typeof RunbookRun> {
  static override summary =
    'Run a runbook: step by step on a terminal, unattended with --yes, or as a plan with --dry-run'
  static override description =
    'Targets are resolved live before each step. Every run is journaled (see `runbook log`) and resumable (`runbook resume`). Mutating runs hold a lease-backed cluster lock; a second one is refused (exit 6).'
  static override examples = [
    '<%= config.bin %> <%= command.id %> chainfire/restart-node --param node=n2 --dry-run',
    '<%= config.bin %> <%= command.id %> chainfire/rolling-restart --yes',
    'PLASMACTL_PARAM_TOKEN=… <%= config.bin %> <%= command.id %> ./my-runbook.yaml --step',
  ]

  static override args = {
    runbook: Args.string({description: 'runbook name (see `runbook list`) or path to a YAML file', required: true}),
  }
  static override flags = {
    ...runFlags,
    'dry-run': Flags.boolean({
      description:
        'render every command, resolve targets, evaluate cluster-state checks (commands are shown, not run), show quorum impact; change nothing',
    }),
  }

  public async run(): Promise<RunResult> {
    const rc = await resolveContext(this.flags)
    const result = await runRunbook(
      runOptions(rc, this.flags, {
        reporter: this.reporter(),
        log: (s) => this.logToStderr(s),
        output: (s) => this.logToStderr(s),
        version: this.config.version,
        dryRun: this.flags['dry-run'],
        name: this.args.runbook,
        onSecrets: (v) => this.redactOutput(v),
      }),
    )
    return result
  }

  protected override render(result: RunResult): string {
    return result.dryRun ? renderPlan(result) : renderRun(result)
  }
}
