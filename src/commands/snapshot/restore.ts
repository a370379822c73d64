import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {parseTimeout} from '../../config/duration.js'
import {confirmOrFail} from '../../prompts/confirm.js'
import {type RestorePlan, restoreCluster, type RestoreResult} from '../../services/snapshot/restore.js'

function renderPlan(p: RestorePlan): string {
  const head = `Restore ChainFire from ${p.snapshot}${p.manifest ? ` (revision ${p.manifest.revision}, ${p.manifest.keyCount ?? '?'} keys, taken ${p.manifest.createdAt} from ${p.manifest.sourceMember})` : ''}`
  const live = p.live
    ? [
        `live cluster: ${p.live.clusterId ?? '?'} at revision ${p.live.revision ?? '?'}, ${p.live.healthy ? 'healthy' : `${p.live.votersHealthy}/${p.live.voters} voters healthy`}`,
      ]
    : ['live cluster: no member answers']
  return [
    head,
    ...live,
    ...(p.warnings ?? []).map((w) => `WARNING: ${w}`),
    `initial cluster: ${p.initialCluster}`,
    ...p.steps.map((s, i) => `  ${String(i + 1).padStart(2)}. ${s.describe}`),
  ].join('\n')
}

export default class SnapshotRestore extends BaseCommand<typeof SnapshotRestore> {
  static override summary = 'Restore the whole ChainFire cluster from one snapshot (destructive)'
  static override description =
    'Preflight: the snapshot verifies, every node answers over SSH, a restore tool exists, and the snapshot comes from the live cluster (else refused without --force cluster-mismatch); a healthy live cluster and the revisions newer than the snapshot are shown before the confirmation. Then on every member: stop, move the data directory aside (never deleted), copy the snapshot (SFTP, hash-checked), restore, start; wait for a leader and full health; check the revision, and the key count at the snapshot revision, against the manifest. Journaled: an interrupted restore continues with --resume RUN_ID.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> lab-20261126t101500z-r42 --dry-run',
    '<%= config.bin %> <%= command.id %> lab-20261126t101500z-r42 --yes',
    '<%= config.bin %> <%= command.id %> lab-20261126t101500z-r42 --yes --resume restore-20261126t102000z-a1b2c3',
  ]

  static override args = {snapshot: Args.string({description: 'snapshot name or path to a .db file', required: true})}
  static override flags = {
    'dry-run': Flags.boolean({description: 'run the preflight and show the plan; change nothing'}),
    yes: Flags.boolean({char: 'y', description: 'confirm without asking (required without a terminal)'}),
    resume: Flags.string({description: 'continue an interrupted restore run'}),
    target: Flags.string({description: 'look for the snapshot only in this target (repeatable)', multiple: true}),
    force: Flags.string({
      description:
        'override a refusal: cluster-mismatch (the snapshot was taken from another cluster than the live one)',
      multiple: true,
      options: ['cluster-mismatch'],
    }),
    wait: Flags.string({description: 'how long to wait for the restored cluster to become healthy', default: '60s'}),
  }

  private contextName = ''

  public async run(): Promise<RestoreResult> {
    const {loaded, ctx} = await resolveContext(this.flags)
    this.contextName = ctx.name
    const result = await restoreCluster({
      loaded,
      ctx,
      reporter: this.reporter(),
      idOrFile: this.args.snapshot,
      dryRun: this.flags['dry-run'],
      resume: this.flags.resume,
      targets: this.flags.target,
      force: this.flags.force,
      waitMs: parseTimeout(this.flags.wait, '--wait'),
      confirm: async (plan) => {
        this.logToStderr(renderPlan(plan))
        return confirmOrFail(
          `${plan.live?.healthy ? 'The live cluster is HEALTHY. ' : ''}Restore context "${ctx.name}" (${ctx.environment}) from ${plan.snapshot}? Every member is stopped and its data moved aside.`,
          {yes: this.flags.yes, typed: {environment: ctx.environment, name: ctx.name, what: 'context'}},
        )
      },
    })
    return result
  }

  protected override render(result: RestoreResult): string {
    if (result.alreadyFinished) return `restore ${result.runId} had already finished: nothing to do`
    if (result.dryRun) return `dry run: preflight passed, nothing changed\n${renderPlan(result.plan)}`
    return `restored ${this.contextName} from ${result.plan.snapshot} (run ${result.runId}): revision ${result.verified?.revision}, ${result.verified?.keyCount} keys${result.skipped.length ? `; resumed, skipped ${result.skipped.length} completed steps` : ''}`
  }
}
