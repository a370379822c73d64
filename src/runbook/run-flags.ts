import {Flags} from '@oclif/core'
import type {ResolvedContext} from '../config/context.js'
import {parseTimeout} from '../config/duration.js'
import {isInteractive, runbookPrompts} from '../prompts/runbook.js'
import type {Reporter} from '../services/reporter.js'
import type {RunOptions} from './executor.js'
import {type OverrideCheck, RUNBOOK_OVERRIDES} from './overrides.js'
import {parseParamFlags} from './loader.js'

/** Flags shared by `runbook run` and `runbook resume`. */
export const runFlags = {
  param: Flags.string({
    char: 'p',
    description: 'KEY=VALUE (repeatable); secrets better via PLASMACTL_PARAM_KEY (keeps them out of the process list)',
    multiple: true,
  }),
  yes: Flags.boolean({char: 'y', description: 'run unattended: no step-by-step, confirmations answered yes'}),
  step: Flags.boolean({description: 'ask before every step (the default on a terminal without --yes)'}),
  force: Flags.string({
    description:
      'override one safety check, journaled (repeatable): precondition (a failed precondition), quorum (a stop that loses quorum), snapshot (a destructive step without a recent verified snapshot)',
    multiple: true,
    options: [...RUNBOOK_OVERRIDES],
  }),
  'allow-manual': Flags.boolean({description: 'with --yes: treat manual steps as done (you did them by hand)'}),
  'accept-new-host-keys': Flags.boolean({
    description: 'record unknown SSH host keys (trust on first use); a changed key is still refused',
  }),
  'force-unlock': Flags.boolean({description: 'remove a stale cluster lock first (asks for confirmation)'}),
  'lock-ttl': Flags.string({
    description: "lease TTL of the cluster lock: a dead runner's lock lapses after this",
    default: '15s',
  }),
  'accept-data-loss': Flags.boolean({
    description: 'let a recovery restore from a source older than the freshest one (the revisions in between are lost)',
  }),
  forks: Flags.integer({description: 'hosts worked on at once', default: 32, min: 1}),
}

export function runOptions(
  rc: ResolvedContext,
  flags: {
    param?: string[]
    yes: boolean
    step: boolean
    force?: string[]
    'allow-manual': boolean
    'accept-new-host-keys': boolean
    'force-unlock': boolean
    'lock-ttl': string
    forks: number
    'accept-data-loss'?: boolean
  },
  extra: {
    reporter: Reporter
    log: (s: string) => void
    output: (s: string) => void
    version: string
    dryRun: boolean
    name?: string
    resume?: string
    onSecrets: (values: string[]) => void
  },
): RunOptions {
  const interactive = isInteractive()
  return {
    loaded: rc.loaded,
    ctx: rc.ctx,
    reporter: extra.reporter,
    output: extra.output,
    name: extra.name,
    resume: extra.resume,
    params: parseParamFlags(flags.param),
    dryRun: extra.dryRun,
    yes: flags.yes,
    stepMode: !extra.dryRun && !flags.yes && (flags.step || interactive),
    interactive,
    force: (flags.force ?? []) as OverrideCheck[],
    allowManual: flags['allow-manual'],
    acceptNewHostKeys: flags['accept-new-host-keys'],
    forceUnlock: flags['force-unlock'],
    lockTtlSeconds: Math.max(1, Math.round(parseTimeout(flags['lock-ttl'], '--lock-ttl') / 1000)),
    forks: flags.forks,
    acceptDataLoss: flags['accept-data-loss'] ?? false,
    version: extra.version,
    prompts: runbookPrompts(extra.log, {environment: rc.ctx.environment, name: rc.ctx.name, what: 'context'}),
    onSecrets: extra.onSecrets,
  }
}
