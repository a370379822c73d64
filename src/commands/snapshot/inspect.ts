import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {setExitCode} from '../../errors.js'
import {dash, formatBytes} from '../../output/table.js'
import {inspectSnapshot, type InspectResult} from '../../services/snapshot/inspect.js'

export default class SnapshotInspect extends BaseCommand<typeof SnapshotInspect> {
  static override summary = 'Show a snapshot\'s revision, key count, size, source and hashes'
  static override examples = ['<%= config.bin %> <%= command.id %> lab-20261126t101500z-r42', '<%= config.bin %> <%= command.id %> ./snap.db --json']
  static override args = {snapshot: Args.string({description: 'snapshot name or path to a .db file', required: true})}
  static override flags = {
    target: Flags.string({description: 'look only in this target (repeatable)', multiple: true}),
  }

  public async run(): Promise<InspectResult> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const r = await inspectSnapshot({loaded, ctx, targets: this.flags.target, idOrFile: this.args.snapshot})
    if (!r.verify.ok) setExitCode('OPERATION_FAILED')
    if (!this.jsonEnabled()) {
      const m = r.verify.manifest
      const rows: [string, unknown][] = [
        ['name', r.verify.id], ['source', r.verify.source], ['size', `${formatBytes(r.verify.digest.size)} (${r.verify.digest.size} bytes)`],
        ['revision', r.revision], ['keys', r.keyCount === null ? null : `${r.keyCount}: ${r.keysCountedText}`], ['cluster id', m?.clusterId], ['from member', m?.sourceMember], ['created', m?.createdAt],
        ['sha256', r.verify.digest.sha256], ['db sha256', r.verify.digest.dbSha256], ['trailer', r.verify.digest.trailerOk ? 'ok' : 'MISMATCH'],
        ['verified', r.verify.ok ? 'yes' : `NO (${r.verify.checks.filter((c) => !c.ok).map((c) => c.check).join(', ')})`], ['details from', r.detailsFrom],
      ]
      for (const [k, v] of rows) this.log(`${k.padEnd(12)} ${dash(v)}`)
    }
    return r
  }
}
