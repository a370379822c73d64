import {resolve} from 'node:path'
import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {parseDuration, parseTimeout} from '../../config/duration.js'
import {renderBundle} from '../../output/debug.js'
import {type BundleResult, createBundle} from '../../services/debug/bundle.js'

export default class DebugBundle extends BaseCommand<typeof DebugBundle> {
  static override summary = 'Collect a redacted support bundle (tar.gz) of the cluster and this context'
  static override description = `Health, member status, alarms and metrics of every member, recent runs, the last lines of every component's log, service status, data-dir disk usage and versions from every node over SSH (in parallel, bounded; a node that cannot be reached is a note in manifest.json, not a failure), OVN cluster and VM QMP status when configured, and the context. Secrets are redacted as config view does, and every secret value the context knows is replaced wherever it appears. Exit 0 when the bundle is written (see manifest.json for what was not collected); 2 when --out exists.`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --since 30m --out /tmp/incident-42.tar.gz',
    'tar -xzOf plasmactl-debug-*.tar.gz manifest.json | jq .notes',
  ]

  static override flags = {
    since: Flags.string({description: 'logs and runs of this recent past', default: '1h'}),
    out: Flags.string({
      description: 'the tar.gz to write (default: plasmactl-debug-CONTEXT-TIME.tar.gz here); never overwritten',
    }),
    lines: Flags.integer({description: 'last lines of each component log per node', default: 500, min: 1}),
    timeout: Flags.string({description: 'per-node (SSH) and per-call timeout', default: '20s'}),
    forks: Flags.integer({description: 'nodes collected at once', default: 16, min: 1}),
  }

  public async run(): Promise<BundleResult> {
    const {loaded, ctx} = await resolveContext(this.flags)
    const stamp = new Date()
      .toISOString()
      .replaceAll(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z')
    const result = await createBundle({
      loaded,
      ctx,
      reporter: this.reporter(),
      out: resolve(this.flags.out ?? `plasmactl-debug-${ctx.name}-${stamp}.tar.gz`),
      sinceMs: parseDuration(this.flags.since, '--since'),
      lines: this.flags.lines,
      timeoutMs: parseTimeout(this.flags.timeout, '--timeout'),
      forks: this.flags.forks,
      cli: {name: this.config.name, version: this.config.version},
    })
    if (!this.jsonEnabled()) this.log(renderBundle(result))
    return result
  }
}
