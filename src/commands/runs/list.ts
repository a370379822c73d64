import {Flags} from '@oclif/core'
import {BaseCommand, outputFlag} from '../../base-command.js'
import {renderRunList} from '../../output/runs.js'
import {listRuns, RUN_KINDS, type RunKind, type RunState, type RunSummary} from '../../services/runs.js'

export default class RunsList extends BaseCommand<typeof RunsList> {
  static override summary =
    'List every journaled run of any kind (runbook, node, restore, drill): id, kind, context, operator, started, state'
  static override description =
    'State: succeeded, failed, aborted (Ctrl-C; resumable), interrupted (the runner died; resumable) or running (its runner holds the lock on this host). Journals live in $XDG_STATE_HOME/plasmactl.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    "<%= config.bin %> <%= command.id %> --state aborted --json | jq -r '.data.runs[].id'",
  ]
  static override flags = {
    output: outputFlag,
    kind: Flags.string({description: 'only runs of this kind', options: Object.keys(RUN_KINDS)}),
    state: Flags.string({
      description: 'only runs in this state',
      options: ['succeeded', 'failed', 'aborted', 'interrupted', 'running'],
    }),
    'run-context': Flags.string({description: 'only runs against this context'}),
  }

  public async run(): Promise<{runs: RunSummary[]}> {
    const runs = await listRuns({
      kind: this.flags.kind as RunKind | undefined,
      state: this.flags.state as RunState | undefined,
      context: this.flags['run-context'],
    })
    if (!this.jsonEnabled()) this.log(renderRunList(runs, {wide: this.flags.output === 'wide'}))
    return {runs}
  }
}
