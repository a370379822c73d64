import type {SshExecResult} from '../adapters/ssh/index.js'
import type {LoadedConfig} from '../config/load.js'
import type {Context, NodeSpec} from '../config/schema.js'
import type {Reporter} from '../services/reporter.js'
import type {ActionContext} from './actions.js'
import type {ClusterFingerprint, ClusterView} from './cluster.js'
import type {ParamValue} from './loader.js'
import type {OverrideCheck} from './overrides.js'
import type {Condition, Step} from './schema.js'
import type {Redactor, TemplateVars} from './template.js'

/** The runbook executor's public types (commands, renderers and prompts import them from executor.ts). */

export type StepDecision = 'run' | 'skip' | 'abort' | 'all'

export interface StepPreview {
  step: string
  kind: string
  name?: string
  targets: string[]
  lines: string[]
}

export interface RunPrompts {
  /** Step-by-step mode: asked before each step. */
  step(p: StepPreview): Promise<StepDecision>
  /**
   * confirm: steps, a changed cluster on resume, --force-unlock, manual steps. A destructive one
   * (a step's confirm:, --force-unlock) wants the context's name typed in a production context.
   */
  confirm(message: string, opts?: {destructive?: boolean}): Promise<boolean>
}

export interface RunOptions {
  loaded: LoadedConfig
  ctx: Context
  reporter: Reporter
  /** Labelled output of commands (already redacted). */
  output: (line: string) => void
  name?: string
  params: Record<string, string>
  dryRun: boolean
  yes: boolean
  /** Ask before every step (run / skip / abort / run the rest). */
  stepMode: boolean
  /** A terminal is there to answer prompts. */
  interactive: boolean
  /** Named overrides, one per safety check (--force quorum); each use is journaled. */
  force: OverrideCheck[]
  allowManual: boolean
  acceptNewHostKeys?: boolean
  forceUnlock?: boolean
  lockTtlSeconds: number
  resume?: string
  forks?: number
  /** --accept-data-loss (recover-quorum may restore from an older source). */
  acceptDataLoss?: boolean
  version: string
  prompts: RunPrompts
  /** Told the secret param values as soon as they are known, so every output can redact them. */
  onSecrets?: (values: string[]) => void
}

export type OutcomeStatus = 'ok' | 'failed' | 'skipped' | 'completed-before' | 'planned'

export interface StepOutcome {
  step: string
  kind: string
  target?: string
  status: OutcomeStatus
  exitCode?: number | null
  failure?: 'connection' | 'command'
  error?: string
  detail?: string
  attempts?: number
  durationMs?: number
  /** A safety check refused (changed host key, sudo password, leader removal): exit 6. */
  refused?: boolean
  /** Failed on local input (our key, known_hosts, config), not on the host. */
  input?: boolean
}

export interface PlanEntry {
  step: string
  kind: string
  name?: string
  targets: string[]
  describe: string[]
  when?: string
  impact?: string[]
  /** ok null: not evaluated (a dry run runs no commands). */
  check?: {ok: boolean | null; detail: string}
  readOnly: boolean
}

export interface RunResult {
  runId: string | null
  runbook: string
  context: string
  dryRun: boolean
  status: 'succeeded' | 'failed' | 'aborted' | 'planned'
  journal: string | null
  fingerprint: ClusterFingerprint | null
  plan: PlanEntry[]
  steps: StepOutcome[]
  resumed: boolean
  lock: string[]
}

/** Where a step runs: its key prefix (include/rescue path), the params and the runbook it belongs to. */
export interface Scope {
  prefix: string
  params: Record<string, ParamValue>
  runbook: string
}

/** One attempt of a step on one target. */
export interface Attempt {
  ok: boolean
  exitCode?: number | null
  detail: string
  output: string
}

/** Runs a rendered shell command on a node; secrets go over stdin, never in the command line. */
export type ShellOn = (
  node: NodeSpec,
  template: string,
  v: TemplateVars,
  sudo: boolean | undefined,
  timeoutMs: number,
) => Promise<SshExecResult>

/** What a step kind sees of the run: options, the cluster, the nodes, templating and redaction. */
export interface StepEnv {
  readonly o: RunOptions
  readonly view: ClusterView
  readonly redactor: Redactor
  vars(scope: Scope, node?: NodeSpec): TemplateVars
  shellOn: ShellOn
  exec(node: NodeSpec, command: string, opts: {timeoutMs: number}): Promise<SshExecResult>
  /** What a built-in action works with; STEP_KEY: the step (and target) it runs as, for its own journaled steps. */
  actionContext(stepKey?: string): ActionContext
  evalCondition(c: Condition, v: TemplateVars): Promise<boolean>
}

/** A step kind: how it reads in a plan, how one attempt runs on one target. */
export interface StepKind<S extends Step> {
  /** Changes nothing (check, wait): marked read-only in the plan. */
  readOnly?: boolean
  /** The plan lines of S on NODE (or on no target). */
  describe(env: StepEnv, step: S, v: TemplateVars, node?: NodeSpec): string[]
  /** What a dry run can tell beyond describe by reading the cluster (read-only). */
  plan?(
    env: StepEnv,
    step: S,
    scope: Scope,
    targets: NodeSpec[] | undefined,
  ): Promise<{lines?: string[]; check?: PlanEntry['check']}>
  /** One attempt on NODE (undefined: a step with no targets). */
  execute(env: StepEnv, step: S, scope: Scope, node: NodeSpec | undefined): Promise<Attempt>
}
