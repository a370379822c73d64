import {createHash} from 'node:crypto'
import {join} from 'node:path'
import {chainfireClientFor} from '../adapters/chainfire/index.js'
import {run as runLocal} from '../adapters/exec/index.js'
import {SshConnectionError} from '../adapters/ssh/index.js'
import {cannotCheck, describeCannotCheck} from '../services/health/cannot-check.js'
import {activeNodes, serviceCommand, type ServiceVerb} from '../config/context.js'
import {parseDuration} from '../config/duration.js'
import type {LoadedConfig} from '../config/load.js'
import {stateDir} from '../config/paths.js'
import type {Context, NodeSpec} from '../config/schema.js'
import {isPromptInterrupt, RunInterrupt} from '../core/engine/interrupt.js'
import {operatorId} from '../core/engine/journal.js'
import {InterruptedError, OperationError, PlasmaError, RefusedError, refusal, UsageError} from '../errors.js'
import type {ChainfireHealth} from '../services/health/probes/chainfire.js'
import {Journal} from '../services/journal.js'
import {acquireClusterLock, type HeldLock} from '../services/lock.js'
import {Remote, sudoCommand} from '../services/remote.js'
import type {Reporter} from '../services/reporter.js'
import {type ActionContext, describeAction, newestVerifiedSnapshot, planAction, runAction} from './actions.js'
import {
  batches,
  type ClusterFingerprint,
  clusterStateText,
  ClusterView,
  fingerprintOf,
  nodeVars,
  quorumImpact,
  resolveTargets,
  sameCluster,
} from './cluster.js'
import {type ConditionEnv, describeCondition, evalCondition, NOT_RUN, NotEvaluated} from './conditions.js'
import {localStepEnv} from './local-env.js'
import type {OverrideCheck} from './overrides.js'
import {digestSteps, type LoadedRunbook, loadRunbook, type ParamValue, resolveParams} from './loader.js'
import type {Condition, Step} from './schema.js'
import {
  Redactor,
  renderCommand,
  renderCondition,
  renderDeep,
  renderText,
  stdinScript,
  type TemplateVars,
} from './template.js'
import {mapLimit} from '../core/concurrency.js'

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

interface Scope {
  prefix: string
  params: Record<string, ParamValue>
  runbook: string
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

class StepFailed extends OperationError {}
class Aborted extends RefusedError {}

/** Collects the step digests of a runbook and every runbook it includes (resume refuses if any changed). */
async function fullDigest(rb: LoadedRunbook, seen = new Set<string>()): Promise<string> {
  const parts = [digestSteps(rb.runbook.steps)]
  const walk = (steps: Step[]): string[] =>
    steps.flatMap((s) => [
      ...(s.kind === 'runbook' && s.runbook ? [s.runbook] : []),
      ...(typeof s.on_failure === 'object' ? walk(s.on_failure.rescue) : []),
    ])
  for (const inc of walk(rb.runbook.steps)) {
    if (seen.has(inc)) continue
    seen.add(inc)
    parts.push(`${inc}:${await fullDigest(await loadRunbook(inc), seen)}`)
  }
  return createHash('sha256').update(parts.join('\n')).digest('hex')
}

export class RunbookEngine {
  private readonly remote: Remote
  private readonly client
  private readonly view: ClusterView
  private redactor = new Redactor([])
  private journal: Journal | undefined
  private done = new Set<string>()
  private runAll = false
  private lock: HeldLock | undefined
  private runId = 'dry-run'
  readonly outcomes: StepOutcome[] = []
  readonly plan: PlanEntry[] = []
  private readonly includes = new Map<string, LoadedRunbook>()
  private interrupt: RunInterrupt | undefined
  /** The step key (and target) in flight, for the abort message. */
  private current: string | undefined
  /** Step-key prefixes the resumed journal has events of (an include entered before the interruption). */
  private started = new Set<string>()

  constructor(private readonly o: RunOptions) {
    this.remote = new Remote(o.loaded, o.ctx, o.acceptNewHostKeys ? {hostKeyPolicy: 'accept-new'} : {})
    this.client = chainfireClientFor(o.loaded, o.ctx)
    this.view = new ClusterView(o.ctx, this.client)
  }

  private get nodeNames(): string[] {
    return activeNodes(this.o.ctx).map((n) => n.name)
  }

  private actionContext(): ActionContext {
    return {
      loaded: this.o.loaded,
      ctx: this.o.ctx,
      client: this.client,
      view: this.view,
      reporter: this.o.reporter,
      version: this.o.version,
      timeoutMs: 5000,
      acceptDataLoss: this.o.acceptDataLoss,
    }
  }

  private info(msg: string) {
    this.o.reporter.info(this.redactor.text(msg))
  }

  private async append(e: Parameters<Journal['append']>[0]) {
    if (this.journal) await this.journal.append(this.redactor.deep(e))
  }

  async health(): Promise<ChainfireHealth> {
    return this.view.health()
  }

  async run(): Promise<RunResult> {
    try {
      return await this.runInner()
    } finally {
      await this.journal?.close().catch(() => undefined)
      await this.lock?.release().catch(() => undefined)
      this.client.close()
      await this.remote.close()
    }
  }

  private async runInner(): Promise<RunResult> {
    const o = this.o
    let resumed: Journal | undefined
    let name = o.name
    const given = {...o.params}
    if (o.resume) {
      resumed = await Journal.open(join(stateDir(), 'runbooks'), o.resume)
      const b = resumed.begin?.data as
        | {runbook: string; params: Record<string, string | number | boolean | null>; context: string; digest: string}
        | undefined
      if (!b) throw new UsageError(`journal of run ${o.resume} has no begin record`)
      if (resumed.ended && (resumed.all.at(-1)?.ok ?? false))
        throw new UsageError(`run ${o.resume} already finished successfully; nothing to resume`)
      if (b.context !== o.ctx.name)
        throw new UsageError(`run ${o.resume} ran against context "${b.context}", not "${o.ctx.name}"`, {
          hint: `pass --context ${b.context}`,
        })
      name = b.runbook
      // Secrets are never journaled: they must be given again (--param or PLASMACTL_PARAM_*).
      for (const [k, v] of Object.entries(b.params)) if (v !== null && !(k in given)) given[k] = String(v)
    }
    if (!name) throw new UsageError('no runbook named')
    const rb = await loadRunbook(name)
    const digest = await fullDigest(rb)
    if (resumed && (resumed.begin?.data as {digest: string}).digest !== digest) {
      throw new RefusedError(
        `runbook ${name} changed since run ${o.resume} started (its steps differ): refusing to resume`,
        {file: rb.file, hint: 'start a new run instead'},
      )
    }
    const params = resolveParams(rb.runbook, given, this.nodeNames)
    const secrets = Object.values(params)
      .filter((p) => p.secret)
      .map((p) => String(p.value))
    this.redactor = new Redactor(secrets)
    o.onSecrets?.(secrets)
    for (const k of Object.keys(o.params))
      if (params[k]?.secret)
        o.reporter.warn(
          `secret param ${k} was given with --param, so it is in this machine's process list: prefer PLASMACTL_PARAM_${k.toUpperCase()}`,
        )
    const mutating = rb.runbook.metadata.mutating !== false

    if (!o.dryRun && !o.yes && !o.interactive) {
      throw new RefusedError(`runbook ${name} changes the cluster and there is no terminal to confirm its steps`, {
        hint: 'pass --yes to run unattended, or --dry-run to see the plan',
      })
    }
    const h0 = await this.view.health().catch(() => undefined)
    const fp = h0 ? fingerprintOf(h0) : null

    if (resumed && fp) {
      const last = [...resumed.all].reverse().find((e) => e.data?.fingerprint)?.data?.fingerprint as
        ClusterFingerprint | undefined
      if (!sameCluster(last, fp)) {
        const msg = `the cluster changed since run ${o.resume} was interrupted (was ${last?.clusterId} [${last?.members.join(' ')}], now ${fp.clusterId} [${fp.members.join(' ')}]): resume anyway?`
        if (o.yes) this.o.reporter.warn(msg.replace(': resume anyway?', '; resuming (--yes)'))
        else if (!(await o.prompts.confirm(msg))) throw new RefusedError('resume not confirmed; nothing was changed')
      }
    }

    // Preconditions: read-only, evaluated in dry-run too.
    const scope: Scope = {prefix: '', params, runbook: name}
    const failedPre: string[] = []
    for (const c of rb.runbook.preconditions ?? []) {
      const ok = await this.evalOrNull(c, this.vars(scope))
      if (ok === false) failedPre.push(describeCondition(c))
      if (ok === null)
        this.plan.push({
          step: '(precondition)',
          kind: 'check',
          targets: [],
          describe: [describeCondition(c)],
          check: {ok: null, detail: NOT_RUN},
          readOnly: true,
        })
    }
    // A resumed run was started with its preconditions holding; what holds now may be its own doing
    // (rolling-restart stopped n2). Each step checks what it needs itself (quorum, snapshot, when:).
    const preOverridden = failedPre.length > 0 && !o.dryRun && !resumed && o.force.includes('precondition')
    if (failedPre.length > 0 && !o.dryRun && !resumed && !preOverridden)
      throw refusal(
        'precondition failed',
        failedPre.map((message) => ({id: 'precondition', message, override: '--force precondition'})),
        {
          plan: {
            summary: `runbook ${name}: ${rb.runbook.steps.length} step(s), none run`,
            steps: rb.runbook.steps.map((st) => ({describe: `${st.id} (${st.kind})${st.name ? `: ${st.name}` : ''}`})),
          },
          hint: 'fix the cluster first, or override this check alone with --force precondition',
        },
      )
    if (failedPre.length > 0 && resumed)
      o.reporter.info(`not re-checked on resume (the run started with them holding): ${failedPre.join('; ')}`)

    if (o.dryRun) {
      for (const p of failedPre)
        this.plan.push({
          step: '(precondition)',
          kind: 'check',
          targets: [],
          describe: [p],
          check: {ok: false, detail: 'precondition does not hold now'},
          readOnly: true,
        })
      await this.runSteps(rb.runbook.steps, scope)
      return this.redactor.deep({
        runId: null,
        runbook: rb.runbook.metadata.name,
        context: o.ctx.name,
        dryRun: true,
        status: 'planned',
        journal: null,
        fingerprint: fp,
        plan: this.plan,
        steps: this.outcomes,
        resumed: false,
        lock: [],
      })
    }

    this.runId = resumed?.id ?? Journal.newId('run')
    if (mutating) {
      const forceUnlock = o.forceUnlock
        ? (holder: string) =>
            o.yes
              ? Promise.resolve(true)
              : o.prompts.confirm(
                  `remove the cluster lock held by ${holder}? Only do this if that run is really dead.`,
                  {
                    destructive: true,
                  },
                )
        : undefined
      this.lock = await acquireClusterLock(o.ctx, {
        kind: 'runbook',
        purpose: `runbook ${rb.runbook.metadata.name}`,
        runId: this.runId,
        client: h0?.quorum ? this.client : undefined,
        reporter: o.reporter,
        ttlSeconds: o.lockTtlSeconds,
        resume: Boolean(resumed),
        forceUnlock,
      })
    }
    const dir = join(stateDir(), 'runbooks')
    if (resumed) {
      this.journal = resumed
      this.done = resumed.completed()
      for (const e of resumed.all)
        if (e.step)
          for (let i = e.step.indexOf('/'); i >= 0; i = e.step.indexOf('/', i + 1))
            this.started.add(e.step.slice(0, i + 1))
      await this.append({type: 'resume', data: {resumed: true, fingerprint: fp, by: operatorId(), force: o.force}})
    } else {
      const redactedParams = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.secret ? null : v.value]))
      this.journal = await Journal.create(
        dir,
        this.runId,
        this.redactor.deep({
          runbook: name,
          name: rb.runbook.metadata.name,
          file: rb.file,
          digest,
          context: o.ctx.name,
          params: redactedParams,
          fingerprint: fp,
          kind: 'runbook',
          by: operatorId(),
          force: o.force,
          lock: this.lock?.scopes ?? [],
          copy: rb.text,
        }),
      )
    }
    if (preOverridden) await this.override('precondition', failedPre.join('; '))
    const interrupt = new RunInterrupt({
      journal: this.journal,
      runId: this.runId,
      where: () => this.current,
      report: (m) => o.reporter.warn(m),
      state: async () => clusterStateText(await this.view.health()),
    })
    interrupt.arm(this.lock)
    this.interrupt = interrupt
    this.info(
      `run ${this.runId}: runbook ${rb.runbook.metadata.name} on context ${o.ctx.name}${resumed ? ` (resumed; ${this.done.size} completed steps are skipped)` : ''}`,
    )
    let status: RunResult['status'] = 'succeeded'
    let error: unknown
    try {
      await this.runSteps(rb.runbook.steps, scope)
    } catch (e) {
      error = isPromptInterrupt(e) || interrupt.signal ? await interrupt.fromPrompt() : e
      if (error instanceof Aborted) await interrupt.record('operator')
      status = error instanceof Aborted || error instanceof InterruptedError ? 'aborted' : 'failed'
    }
    interrupt.disarm()
    // An interrupted run is not ended: `runs resume` continues it.
    if (!(error instanceof InterruptedError))
      await this.append({type: 'end', ok: status === 'succeeded', data: {status}})
    const result: RunResult = this.redactor.deep({
      runId: this.runId,
      runbook: rb.runbook.metadata.name,
      context: o.ctx.name,
      dryRun: false,
      status,
      journal: this.journal.path,
      fingerprint: fp,
      plan: [],
      steps: this.outcomes,
      resumed: Boolean(resumed),
      lock: this.lock?.scopes ?? [],
    })
    if (error) {
      const e = error as PlasmaError
      const msg = this.redactor.text(e.message)
      const wrapped =
        e instanceof InterruptedError
          ? new InterruptedError(
              msg,
              {...e.details, runId: this.runId},
              {signal: e.exit === 'TERMINATED' ? 'SIGTERM' : undefined},
            )
          : e instanceof RefusedError
            ? new RefusedError(msg, {
                ...e.details,
                runId: this.runId,
                hint: e.details?.hint ?? `resume with: plasmactl runs resume ${this.runId}`,
              })
            : e instanceof UsageError
              ? new UsageError(msg, {
                  ...e.details,
                  runId: this.runId,
                  hint: `fix the cause, then: plasmactl runs resume ${this.runId}`,
                })
              : new OperationError(msg, {
                  ...(e.details ?? {}),
                  runId: this.runId,
                  hint: `fix the cause, then: plasmactl runs resume ${this.runId}`,
                })
      wrapped.data = result
      throw wrapped
    }
    return result
  }

  /** A safety check skipped by a named --force: warned about and journaled (who, when, what). */
  private async override(check: OverrideCheck, detail: string): Promise<void> {
    this.o.reporter.warn(this.redactor.text(`check "${check}" overridden with --force ${check}: ${detail}`))
    await this.journal?.override(check, this.redactor.text(detail), this.current)
  }

  private vars(scope: Scope, node?: NodeSpec): TemplateVars {
    return {
      params: scope.params,
      run: {id: this.runId},
      context: {name: this.o.ctx.name},
      node: node ? nodeVars(this.o.ctx, node) : undefined,
    }
  }

  private async runSteps(steps: Step[], scope: Scope): Promise<void> {
    for (const s of steps) await this.runStep(s, scope)
  }

  private async targetsOf(step: Step, scope: Scope): Promise<NodeSpec[] | undefined> {
    if (step.on === undefined || step.on === 'local') return undefined
    const exprs = [step.on].flat().map((t) => renderText(t, this.vars(scope)))
    return resolveTargets(this.o.ctx, exprs, () => this.view.health(), step.order)
  }

  private describeStep(step: Step, scope: Scope, node?: NodeSpec): string[] {
    const v = this.vars(scope, node)
    const at = node ? `${node.name}: ` : ''
    switch (step.kind) {
      case 'run':
      case 'local': {
        const r = renderCommand(step.command!, v)
        return [`${at}${step.sudo ? sudoCommand(r.command) : r.command}`]
      }
      case 'service':
        return [`${at}${serviceCommand(this.o.ctx, node!, renderText(step.service!, v), step.verb as ServiceVerb)}`]
      case 'check':
      case 'wait':
        return [
          `${at}${step.kind} ${step.command ? renderCommand(step.command, v).command : describeCondition(renderCondition(step.condition!, v))}`,
        ]
      case 'action':
        return [`${at}${describeAction(step.action!, renderDeep(step.with ?? {}, v), node)}`]
      case 'manual':
        return [`manual: ${renderText(step.instructions!, v)}`]
      case 'runbook':
        return [`${at}runbook ${step.runbook}`]
    }
  }

  private async runStep(step: Step, scope: Scope): Promise<void> {
    const o = this.o
    const key = scope.prefix + step.id
    if (this.lock?.lost)
      throw new RefusedError(`the cluster lock was lost (${this.lock.lost}); stopping before step ${key}`)
    if (!o.dryRun) {
      this.current = key
      this.interrupt?.check()
    }
    const v = this.vars(scope)
    const allDone = (keys: string[]) => keys.length > 0 && keys.every((k) => this.done.has(k))

    let unevaluated: string | undefined
    if (step.when) {
      const ok = await this.evalOrNull(step.when, v)
      if (ok === null) unevaluated = `when ${describeCondition(step.when)}: ${NOT_RUN}`
      if (ok === false) {
        if (o.dryRun)
          this.plan.push({
            step: key,
            kind: step.kind,
            name: step.name,
            targets: [],
            describe: [`skipped: when ${describeCondition(step.when)} is false now`],
            when: 'false',
            readOnly: true,
          })
        else {
          this.outcomes.push({
            step: key,
            kind: step.kind,
            status: 'skipped',
            detail: `when ${describeCondition(step.when)} is false`,
          })
          if (!this.done.has(key))
            await this.append({type: 'step-end', step: key, ok: true, data: {status: 'skipped', reason: 'when'}})
        }
        return
      }
    }
    const targets = await this.targetsOf(step, scope)
    const h =
      targets && (step.serial !== undefined || step.kind === 'service' || step.action === 'member-remove')
        ? await this.view.health().catch(() => undefined)
        : undefined
    const groups = targets ? batches(targets, step.serial, h) : [[undefined]]
    const keysOf = (n?: NodeSpec) => (n ? `${key}@${n.name}` : key)

    if (o.dryRun) {
      const impact: string[] = []
      for (const g of groups) {
        const names = g.filter(Boolean).map((n) => n!.name)
        const verb =
          step.kind === 'service' && step.service === 'chainfire' && (step.verb === 'stop' || step.verb === 'restart')
            ? step.verb
            : step.kind === 'action' && step.action === 'member-remove'
              ? 'remove'
              : undefined
        const health = verb ? (h ?? (await this.view.health().catch(() => undefined))) : undefined
        const removeNames =
          step.action === 'member-remove' && step.with?.node ? [renderText(String(step.with.node), v)] : names
        const imp = verb && health ? quorumImpact(health, verb, removeNames) : undefined
        if (imp) impact.push(imp.text)
      }
      const entry: PlanEntry = {
        step: key,
        kind: step.kind,
        name: step.name,
        targets: (targets ?? []).map((n) => n.name),
        describe: [],
        impact: impact.length ? impact : undefined,
        readOnly: step.kind === 'check' || step.kind === 'wait',
      }
      if (unevaluated) entry.describe.push(unevaluated)
      if (typeof step.confirm === 'string') entry.describe.push(`confirm: ${renderText(step.confirm, v)}`)
      if (step.serial !== undefined && targets)
        entry.describe.push(`in batches: ${groups.map((g) => g.map((n) => n!.name).join('+')).join(' → ')}`)
      if (step.destructive) {
        const snap = await newestVerifiedSnapshot(
          this.o,
          parseDuration(this.maxSnapshotAge(), 'max-snapshot-age'),
        ).catch(() => undefined)
        entry.describe.push(
          snap
            ? `destructive: newest verified snapshot ${snap.id} (${snap.createdAt})`
            : `destructive: NO verified snapshot newer than ${this.maxSnapshotAge()}: the run will refuse without --force`,
        )
      }
      if (step.kind === 'runbook') {
        this.plan.push(entry)
        entry.describe.push(...this.describeStep(step, scope))
        for (const n of targets ?? [undefined]) await this.runInclude(step, scope, n)
        return
      }
      for (const n of targets ?? [undefined]) entry.describe.push(...this.describeStep(step, scope, n))
      if (step.kind === 'action')
        entry.describe.push(
          ...(await planAction(this.actionContext(), step.action!, renderDeep(step.with ?? {}, v))).map((l) =>
            this.redactor.text(l),
          ),
        )
      if (step.kind === 'check' || step.kind === 'wait') {
        const ok = await this.checkOnce(step, scope, targets).catch((e) => ({
          ok: e instanceof NotEvaluated ? null : false,
          detail: (e as Error).message,
        }))
        entry.check = {ok: ok.ok, detail: this.redactor.text(ok.detail)}
      }
      this.plan.push(entry)
      return
    }

    const allKeys = (targets ?? [undefined]).map((n) => keysOf(n))
    if (step.kind !== 'runbook' && allDone(allKeys)) {
      for (const k of allKeys)
        this.outcomes.push({
          step: key,
          kind: step.kind,
          target: k.includes('@') ? k.slice(k.lastIndexOf('@') + 1) : undefined,
          status: 'completed-before',
        })
      return
    }

    const stepped = o.stepMode && !this.runAll
    if (stepped) {
      const lines = (targets ?? [undefined])
        .flatMap((n) => this.describeStep(step, scope, n))
        .map((l) => this.redactor.text(l))
      const d = await o.prompts.step({
        step: key,
        kind: step.kind,
        name: step.name,
        targets: (targets ?? []).map((n) => n.name),
        lines,
      })
      if (d === 'abort') throw new Aborted(`aborted by the operator before step ${key}`)
      if (d === 'skip') {
        this.outcomes.push({step: key, kind: step.kind, status: 'skipped', detail: 'skipped by the operator'})
        await this.append({type: 'step-end', step: key, ok: true, data: {status: 'skipped', reason: 'operator'}})
        return
      }
      if (d === 'all') this.runAll = true
    }
    // A step's confirm: is its own question; in a production context "run" at the step prompt is not enough.
    if (step.confirm && !o.yes && (!stepped || o.ctx.environment === 'production')) {
      const msg = typeof step.confirm === 'string' ? renderText(step.confirm, v) : `run step ${key}?`
      if (!(await o.prompts.confirm(this.redactor.text(msg), {destructive: true})))
        throw new Aborted(`step ${key} not confirmed`)
    }
    if (step.destructive) {
      const snap = await newestVerifiedSnapshot(this.o, parseDuration(this.maxSnapshotAge(), 'max-snapshot-age'))
      const why = `step ${key} is destructive and there is no verified snapshot newer than ${this.maxSnapshotAge()}`
      if (!snap && !o.force.includes('snapshot'))
        throw new RefusedError(why, {
          hint: 'run `plasmactl snapshot save` first, or override this check alone with --force snapshot',
        })
      if (snap) this.info(`${key}: destructive; newest verified snapshot is ${snap.id}`)
      else await this.override('snapshot', why)
    }

    try {
      for (const g of groups) {
        if (
          step.kind === 'service' &&
          step.service === 'chainfire' &&
          (step.verb === 'stop' || step.verb === 'restart')
        ) {
          const hh = await this.view.health().catch(() => undefined)
          const imp = hh
            ? quorumImpact(
                hh,
                step.verb,
                g.map((n) => n!.name),
              )
            : undefined
          if (imp && !imp.quorum && hh!.quorum) {
            if (!o.force.includes('quorum'))
              throw new RefusedError(`step ${key} refused: ${imp.text}`, {
                hint: 'override this check alone with --force quorum',
              })
            await this.override('quorum', `step ${key}: ${imp.text}`)
          } else if (imp) this.info(`${key}: ${imp.text}`)
        }
        if (step.kind === 'runbook') {
          // One batch runs its includes side by side; batches follow each other.
          await Promise.all(g.map((n) => this.runInclude(step, scope, n)))
          continue
        }
        // One fingerprint per batch, shared by its targets (cluster state does not differ per host).
        const fp = this.view
          .health()
          .then(fingerprintOf)
          .catch(() => null)
        const results = await mapLimit(g, o.forks ?? 32, (n) => this.runOnTarget(step, scope, key, n, fp))
        const failed = results.filter((r) => r.status === 'failed')
        if (failed.some((f) => f.refused))
          throw new RefusedError(
            `step ${key} refused on ${failed.map((f) => `${f.target ?? 'cluster'}: ${f.error}`).join('; ')}`,
          )
        if (failed.some((f) => f.input))
          throw new UsageError(
            `step ${key} cannot run from here on ${failed
              .filter((f) => f.input)
              .map((f) => `${f.target ?? 'cluster'}: ${f.error}`)
              .join('; ')}`,
          )
        if (failed.length > 0)
          throw new StepFailed(
            `step ${key} failed on ${failed.map((f) => `${f.target ?? 'cluster'} (${f.failure} failure: ${f.error})`).join('; ')}`,
            {failure: failed[0].failure},
          )
      }
    } catch (error) {
      const policy = step.on_failure ?? 'abort'
      if (error instanceof Aborted || policy === 'abort') throw error
      if (policy === 'continue') {
        this.o.reporter.warn(this.redactor.text(`${(error as Error).message}; continuing (on_failure: continue)`))
        return
      }
      this.o.reporter.warn(this.redactor.text(`${(error as Error).message}; running rescue steps`))
      await this.runSteps(policy.rescue, {...scope, prefix: `${key}/rescue/`})
    }
  }

  private maxSnapshotAge(): string {
    return '24h'
  }

  private async runInclude(step: Step, scope: Scope, node: NodeSpec | undefined): Promise<void> {
    let sub = this.includes.get(step.runbook!)
    if (!sub) {
      sub = await loadRunbook(step.runbook!)
      this.includes.set(step.runbook!, sub)
    }
    const v = this.vars(scope, node)
    const given = Object.fromEntries(
      Object.entries(step.params ?? {}).map(([k, val]) => [k, renderText(String(val), v)]),
    )
    const params = resolveParams(sub.runbook, given, this.nodeNames)
    // A param of the parent passed down keeps its secrecy.
    for (const [k, p] of Object.entries(params))
      if (Object.values(scope.params).some((pp) => pp.secret && String(pp.value) === String(p.value)))
        params[k] = {...p, secret: true}
    const prefix = `${scope.prefix}${step.id}${node ? `@${node.name}` : ''}/`
    const subScope: Scope = {prefix, params, runbook: sub.name}
    // An include entered before a resume was started with its preconditions holding (see runInner).
    for (const c of this.o.dryRun || this.started.has(prefix) ? [] : (sub.runbook.preconditions ?? [])) {
      if (await this.evalOrNull(c, this.vars(subScope))) continue
      const why = `${sub.name}: precondition failed: ${describeCondition(c)}`
      if (!this.o.force.includes('precondition'))
        throw new RefusedError(why, {
          hint: 'fix the cluster first, or override this check alone with --force precondition',
        })
      await this.override('precondition', why)
    }
    await this.runSteps(sub.runbook.steps, subScope)
  }

  private async runOnTarget(
    step: Step,
    scope: Scope,
    key: string,
    node: NodeSpec | undefined,
    fingerprint: Promise<ClusterFingerprint | null>,
  ): Promise<StepOutcome> {
    const tkey = node ? `${key}@${node.name}` : key
    if (this.done.has(tkey)) {
      const r: StepOutcome = {step: key, kind: step.kind, target: node?.name, status: 'completed-before'}
      this.outcomes.push(r)
      return r
    }
    // The fingerprint is taken while the step starts and recorded with its end: off the critical path.
    await this.append({type: 'step-start', step: key, target: node?.name, data: {kind: step.kind}})
    const started = performance.now()
    const maxRetries = step.retries ?? 0
    const delayMs = step.delay === undefined ? 1000 : parseDuration(step.delay, 'delay')
    let attempts = 0
    let connFailures = 0
    let commandFailures = 0
    let refused = false
    let localInput = false
    let last: {
      ok: boolean
      exitCode?: number | null
      detail: string
      output: string
      failure?: 'connection' | 'command'
    }
    for (;;) {
      attempts++
      try {
        const r = await this.execute(step, scope, node)
        let ok = r.ok
        if (ok && step.until) ok = (await this.evalOrNull(step.until, this.vars(scope, node))) === true
        last = {
          ...r,
          ok,
          failure: ok ? undefined : 'command',
          detail: ok ? r.detail : r.detail || `until ${describeCondition(step.until!)} does not hold`,
        }
        if (ok) break
        commandFailures++
        if (commandFailures > maxRetries) break
      } catch (error) {
        const connection = error instanceof SshConnectionError
        last = {ok: false, detail: (error as Error).message, output: '', failure: connection ? 'connection' : 'command'}
        // Our key, known_hosts or config: no retry helps; name the file and its config line (exit 2).
        const local = error instanceof UsageError ? cannotCheck(error) : undefined
        if (local) {
          last.detail = await describeCannotCheck(this.o.loaded, this.o.ctx, local)
          localInput = true
          break
        }
        if (error instanceof RefusedError && !connection) {
          refused = true
          break
        }
        if (connection) {
          connFailures++
          // Connection failures are retried (a fresh connection each time) regardless of retries:.
          if (connFailures > 2) break
          this.o.reporter.warn(this.redactor.text(`${tkey}: connection failure (${last.detail}); retrying`))
          await sleep(300)
          continue
        }
        commandFailures++
        if (commandFailures > maxRetries) break
      }
      this.o.reporter.debug(`${tkey}: attempt ${attempts} failed; retrying in ${delayMs} ms`)
      await sleep(delayMs)
    }
    const out = this.redactor.text(last!.output)
    const outcome: StepOutcome = {
      step: key,
      kind: step.kind,
      target: node?.name,
      status: last!.ok ? 'ok' : 'failed',
      exitCode: last!.exitCode,
      failure: last!.failure,
      error: last!.ok ? undefined : this.redactor.text(last!.detail),
      detail: last!.ok ? this.redactor.text(last!.detail) : undefined,
      attempts,
      durationMs: Math.round(performance.now() - started),
      refused: refused || undefined,
      input: localInput || undefined,
    }
    this.outcomes.push(outcome)
    await this.append({
      type: 'step-end',
      step: key,
      target: node?.name,
      ok: last!.ok,
      exitCode: last!.exitCode ?? null,
      failure: last!.failure,
      error: outcome.error,
      data: {
        fingerprint: await fingerprint,
        status: outcome.status,
        attempts,
        durationMs: outcome.durationMs,
        outputDigest: `sha256:${createHash('sha256').update(out).digest('hex')}`,
        output: out.length > 4096 ? `${out.slice(0, 4096)}…` : out,
        detail: outcome.detail,
      },
    })
    const label = node?.name ?? 'cluster'
    this.info(
      `${last!.ok ? 'ok' : 'FAILED'}  ${key}${node ? ` @ ${node.name}` : ''}${last!.ok ? (outcome.detail ? `: ${outcome.detail}` : '') : `: ${outcome.error}`} (${outcome.durationMs} ms)`,
    )
    if (out.trim()) for (const line of out.replace(/\n$/, '').split('\n')) this.o.output(`${label} | ${line}`)
    return outcome
  }

  private timeoutOf(step: Step, fallback: number): number {
    return step.timeout === undefined ? fallback : parseDuration(step.timeout, `step ${step.id} timeout`)
  }

  private shell(node: NodeSpec, template: string, scope: Scope, step: Step) {
    return this.shellOn(node, template, this.vars(scope, node), step.sudo, this.timeoutOf(step, 600_000))
  }

  /** Runs a rendered shell command on a node; secrets go over stdin, never in the command line. */
  private async shellOn(
    node: NodeSpec,
    template: string,
    v: TemplateVars,
    sudo: boolean | undefined,
    timeoutMs: number,
  ) {
    const r = renderCommand(template, v)
    const needsStdin = Object.keys(r.env).length > 0
    const command = needsStdin ? 'sh -s' : r.command
    const opts = {timeoutMs, stdin: needsStdin ? stdinScript(r) : undefined}
    return sudo ? this.remote.execSudo(node, command, opts) : this.remote.exec(node, command, opts)
  }

  private async execute(
    step: Step,
    scope: Scope,
    node: NodeSpec | undefined,
  ): Promise<{ok: boolean; exitCode?: number | null; detail: string; output: string}> {
    const v = this.vars(scope, node)
    switch (step.kind) {
      case 'run': {
        const r = await this.shell(node!, step.command!, scope, step)
        return {
          ok: r.exitCode === 0,
          exitCode: r.exitCode,
          detail: r.exitCode === 0 ? '' : `exit ${r.exitCode ?? r.signal}: ${lastLines(r.stderr || r.stdout)}`,
          output: r.stdout + r.stderr,
        }
      }
      case 'local': {
        const r = renderCommand(step.command!, v)
        const env = {...(await localStepEnv(this.o.loaded.path, this.o.ctx.name)), ...r.env}
        const res = await runLocal('/bin/sh', ['-c', r.command], {env, timeoutMs: this.timeoutOf(step, 600_000)})
        return {
          ok: res.exitCode === 0,
          exitCode: res.exitCode,
          detail: res.exitCode === 0 ? '' : `exit ${res.exitCode}: ${lastLines(res.stderr || res.stdout)}`,
          output: res.stdout + res.stderr,
        }
      }
      case 'service': {
        const cmd = serviceCommand(this.o.ctx, node!, renderText(step.service!, v), step.verb as ServiceVerb)
        const r = await this.remote.exec(node!, cmd, {timeoutMs: this.timeoutOf(step, 120_000)})
        return {
          ok: r.exitCode === 0,
          exitCode: r.exitCode,
          detail: r.exitCode === 0 ? lastLines(r.stdout) : `exit ${r.exitCode}: ${lastLines(r.stderr || r.stdout)}`,
          output: '',
        }
      }
      case 'check': {
        const c = await this.checkOnce(step, scope, node ? [node] : undefined)
        return {ok: c.ok, detail: c.detail, output: ''}
      }
      case 'wait': {
        const deadline = Date.now() + this.timeoutOf(step, 60_000)
        const interval = step.interval === undefined ? 500 : parseDuration(step.interval, 'interval')
        for (;;) {
          const c = await this.checkOnce(step, scope, node ? [node] : undefined).catch((e) => ({
            ok: false,
            detail: (e as Error).message,
          }))
          if (c.ok) return {ok: true, detail: c.detail, output: ''}
          if (Date.now() > deadline)
            return {
              ok: false,
              detail: `timed out after ${formatMs(this.timeoutOf(step, 60_000))} waiting for ${describeCondition(step.condition!)}: ${c.detail}`,
              output: '',
            }
          await sleep(interval)
        }
      }
      case 'action': {
        const r = await runAction(
          this.actionContext(),
          step.action!,
          renderDeep(step.with ?? {}, v),
          node,
          this.timeoutOf(step, 60_000),
        )
        return {ok: true, detail: r.detail, output: r.output ?? ''}
      }
      case 'manual': {
        const text = renderText(step.instructions!, v)
        if (this.o.yes && !this.o.allowManual)
          throw new RefusedError(`step ${scope.prefix}${step.id} is manual and the run is unattended: ${text}`, {
            hint: 'do it by hand and pass --allow-manual, or run on a terminal without --yes',
          })
        if (this.o.yes) return {ok: true, detail: `manual step allowed (--allow-manual): ${text}`, output: ''}
        const ok = await this.o.prompts.confirm(`MANUAL: ${this.redactor.text(text)}\nDone?`)
        if (!ok) throw new Aborted(`manual step ${scope.prefix}${step.id} not confirmed`)
        return {ok: true, detail: 'confirmed by the operator', output: ''}
      }
      default:
        throw new UsageError(`kind ${step.kind} cannot run on a target`)
    }
  }

  /** A check: a condition (cluster state) or a read-only command on the targets (exit 0 = true). */
  private async checkOnce(
    step: Step,
    scope: Scope,
    targets: NodeSpec[] | undefined,
  ): Promise<{ok: boolean; detail: string}> {
    if (step.command) {
      if (this.o.dryRun) throw new NotEvaluated(`${NOT_RUN}: ${step.command}`)
      const nodes = targets ?? []
      const rs = await Promise.all(nodes.map(async (n) => ({n, r: await this.shell(n, step.command!, scope, step)})))
      const bad = rs.filter((x) => x.r.exitCode !== 0)
      return {
        ok: bad.length === 0,
        detail: bad.length
          ? bad.map((x) => `${x.n.name}: exit ${x.r.exitCode}`).join(', ')
          : `exit 0 on ${nodes.map((n) => n.name).join(', ')}`,
      }
    }
    const v = this.vars(scope, targets?.length === 1 ? targets[0] : undefined)
    const ok = await this.evalCondition(renderCondition(step.condition!, v), v)
    return {ok, detail: `${describeCondition(renderCondition(step.condition!, v))}: ${ok ? 'true' : 'false'}`}
  }

  private evalCondition(c: Condition, v: TemplateVars): Promise<boolean> {
    return evalCondition(this.conditionEnv, c, v)
  }

  private get conditionEnv(): ConditionEnv {
    return {
      ctx: this.o.ctx,
      dryRun: this.o.dryRun,
      health: () => this.view.health(),
      exec: (n, cmd, opts) => this.remote.exec(n, cmd, opts),
      shellOn: (n, t, v, sudo, ms) => this.shellOn(n, t, v, sudo, ms),
    }
  }

  /** Renders and evaluates C; null in a dry run when it would run a command. */
  private evalOrNull(c: Condition, v: TemplateVars): Promise<boolean | null> {
    return this.evalCondition(renderCondition(c, v), v).catch((e) => {
      if (e instanceof NotEvaluated) return null
      throw e
    })
  }
}

function lastLines(s: string): string {
  return s.trim().split('\n').slice(-3).join('; ')
}

function formatMs(ms: number): string {
  return ms >= 1000 ? `${ms / 1000}s` : `${ms}ms`
}

export {describeCondition}

export async function runRunbook(o: RunOptions): Promise<RunResult> {
  return new RunbookEngine(o).run()
}
