import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {setExitCode} from '../../errors.js'
import {watchPrefix, type WatchSummary} from '../../services/chainfire/watch.js'

/** The last line of a watch: where it stopped and how to resume. */
export interface WatchEnd extends WatchSummary {
  type: 'end'
  status: 'interrupted' | 'terminated' | 'gap'
  resumeFrom: number | undefined
}

export default class ChainfireWatch extends BaseCommand<typeof ChainfireWatch> {
  static override summary =
    'Stream changes under a key prefix; survives member failures and resumes without gaps or duplicates'
  static override description =
    'Reconnects by itself (next endpoint, exponential backoff) and resumes from the revision after the last one delivered. A compacted start revision is reported as a gap (exit 3). ' +
    'Ctrl-C (exit 130) or SIGTERM (exit 143) prints the last revision; pass it + 1 as --from-revision to resume. With --json, one envelope per line whose data.type is put, delete, gap or end.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> /plasmavmc/',
    '<%= config.bin %> <%= command.id %> /flaredb/ --from-revision 1234 --json',
  ]
  static override args = {prefix: Args.string({description: 'key prefix ("" for every key)', required: true})}
  static override flags = {
    'from-revision': Flags.integer({description: 'first revision to deliver (inclusive); default: from now', min: 1}),
  }

  protected override streams(): boolean {
    return true
  }

  public async run(): Promise<WatchEnd> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const json = this.jsonEnabled()
    const stop = this.stopOnSignal()
    const reporter = this.reporter()
    try {
      const summary = await watchPrefix({
        loaded,
        ctx,
        reporter,
        prefix: this.args.prefix,
        fromRevision: this.flags['from-revision'],
        signal: stop.signal,
        onEvent: (e) =>
          json
            ? this.emitEnvelope(e, 'ok')
            : process.stdout.write(
                `${e.revision}\t${e.type === 'put' ? 'PUT' : 'DELETE'}\t${e.key}${e.type === 'put' ? `\t${e.value}` : ''}\n`,
              ),
        onGap: (g) =>
          json
            ? this.emitEnvelope(
                {type: 'gap', ...g, lostRevisions: `${g.fromRevision}..${g.compactRevision - 1}`},
                'gap',
              )
            : process.stdout.write(
                `GAP\trevisions ${g.fromRevision}..${g.compactRevision - 1} compacted: events lost\n`,
              ),
      })
      const resume = summary.lastRevision === null ? undefined : summary.lastRevision + 1
      reporter.info(
        `watch: stopped; last revision ${summary.lastRevision ?? 'none'}${resume ? ` (resume with --from-revision ${resume})` : ''}; ${summary.events} events, ${summary.reconnects} reconnects, ${summary.gaps.length} gaps`,
      )
      // Lost events outrank the Ctrl-C (or SIGTERM) that ends every watch: exit 3 after a gap, else 130 (143).
      const end = stop.stoppedBy()
      setExitCode(summary.gaps.length > 0 ? 'OPERATION_FAILED' : end.exit)
      return {type: 'end', status: summary.gaps.length > 0 ? 'gap' : end.status, ...summary, resumeFrom: resume}
    } finally {
      stop.dispose()
    }
  }
}
