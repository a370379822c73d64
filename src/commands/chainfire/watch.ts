import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {setExitCode} from '../../errors.js'
import {watchPrefix, type WatchSummary} from '../../services/chainfire/watch.js'

export default class ChainfireWatch extends BaseCommand<typeof ChainfireWatch> {
  static override summary = 'Stream changes under a key prefix; survives member failures and resumes without gaps or duplicates'
  static override description =
    'Reconnects by itself (next endpoint, exponential backoff) and resumes from the revision after the last one delivered. A compacted start revision is reported as a gap. ' +
    'Ctrl-C prints the last revision; pass it + 1 as --from-revision to resume. With --json, one JSON object per line (type put, delete, gap, end).'
  static override examples = ['<%= config.bin %> <%= command.id %> /plasmavmc/', '<%= config.bin %> <%= command.id %> /flaredb/ --from-revision 1234 --json']
  // Streams NDJSON rather than one envelope at the end.
  static override enableJsonFlag = false
  static override args = {prefix: Args.string({description: 'key prefix ("" for every key)', required: true})}
  static override flags = {
    'from-revision': Flags.integer({description: 'first revision to deliver (inclusive); default: from now', min: 1}),
    json: Flags.boolean({description: 'one JSON object per line'}),
  }

  public async run(): Promise<WatchSummary> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const json = this.flags.json
    const ac = new AbortController()
    const stop = () => ac.abort()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`)
    try {
      const summary = await watchPrefix({
        loaded, ctx, reporter: this.reporter(), prefix: this.args.prefix, fromRevision: this.flags['from-revision'], signal: ac.signal,
        onEvent: (e) => (json ? out(e) : process.stdout.write(`${e.revision}\t${e.type === 'put' ? 'PUT' : 'DELETE'}\t${e.key}${e.type === 'put' ? `\t${e.value}` : ''}\n`)),
        onGap: (g) => (json ? out({type: 'gap', ...g, lostRevisions: `${g.fromRevision}..${g.compactRevision - 1}`}) : process.stdout.write(`GAP\trevisions ${g.fromRevision}..${g.compactRevision - 1} compacted: events lost\n`)),
      })
      const resume = summary.lastRevision === null ? undefined : summary.lastRevision + 1
      if (json) out({type: 'end', lastRevision: summary.lastRevision, resumeFrom: resume, events: summary.events, reconnects: summary.reconnects, gaps: summary.gaps.length})
      this.logToStderr(`watch: stopped; last revision ${summary.lastRevision ?? 'none'}${resume ? ` (resume with --from-revision ${resume})` : ''}; ${summary.events} events, ${summary.reconnects} reconnects, ${summary.gaps.length} gaps`)
      setExitCode(summary.gaps.length > 0 ? 'OPERATION_FAILED' : 'OK')
      setExitCode('INTERRUPTED')
      return summary
    } finally {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    }
  }
}
