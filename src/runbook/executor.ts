import {chainfireClientFor} from '../adapters/chainfire/index.js'
import {activeNodes} from '../config/context.js'
import type {NodeSpec} from '../config/schema.js'
import {isPromptInterrupt, RunInterrupt} from '../core/engine/interrupt.js'
import {operatorId} from '../core/engine/journal.js'
import {InterruptedError, RefusedError, UsageError} from '../errors.js'
import type {ChainfireHealth} from '../services/health/probes/chainfire.js'
import {Journal} from '../services/journal.js'
import {acquireClusterLock, type HeldLock} from '../services/lock.js'
import {Remote} from '../services/remote.js'
import type {ActionContext} from './actions.js'
import {clusterStateText, ClusterView, fingerprintOf, nodeVars} from './cluster.js'
import {type ConditionEnv, evalCondition, NotEvaluated} from './conditions.js'
import {Aborted} from './kinds/manual.js'
import {
  checkPreconditions,
  confirmSameCluster,
  failureOf,
  fullDigest,
  openResume,
  runbookJournalDir,
} from './lifecycle.js'
import {type LoadedRunbook, loadRunbook, resolveParams} from './loader.js'
import type {OverrideCheck} from './overrides.js'
import type {Condition} from './schema.js'
import {type LoopEnv, runSteps} from './step-loop.js'
import {Redactor, renderCommand, renderCondition, stdinScript, type TemplateVars} from './template.js'
import type {PlanEntry, RunOptions, RunResult, Scope, StepOutcome} from './types.js'

export type {
  OutcomeStatus,
  PlanEntry,
  RunOptions,
  RunPrompts,
  RunResult,
  StepDecision,
  StepOutcome,
  StepPreview,
} from './types.js'
export {describeCondition} from './conditions.js'

/**
 * The runbook executor's lifecycle: load and check the runbook (a resume: its journal, digest and
 * cluster), preconditions, the dry run, the cluster lock, the journal's begin/resume and end
 * records, Ctrl-C, and the result or the error carrying it. The steps run in step-loop.ts (one
 * module per kind in kinds/, retries in attempts.ts, the dry-run plan in plan.ts).
 */
export class RunbookEngine implements LoopEnv {
  private readonly remote: Remote
  private readonly client
  readonly view: ClusterView
  redactor = new Redactor([])
  private journal: Journal | undefined
  done = new Set<string>()
  runAll = false
  lock: HeldLock | undefined
  private runId = 'dry-run'
  readonly outcomes: StepOutcome[] = []
  readonly plan: PlanEntry[] = []
  readonly includes = new Map<string, LoadedRunbook>()
  interrupt: RunInterrupt | undefined
  current: string | undefined
  readonly started = new Set<string>()

  constructor(readonly o: RunOptions) {
    this.remote = new Remote(o.loaded, o.ctx, o.acceptNewHostKeys ? {hostKeyPolicy: 'accept-new'} : {})
    this.client = chainfireClientFor(o.loaded, o.ctx)
    this.view = new ClusterView(o.ctx, this.client)
  }

  get nodeNames(): string[] {
    return activeNodes(this.o.ctx).map((n) => n.name)
  }

  actionContext(stepKey?: string): ActionContext {
    return {
      loaded: this.o.loaded,
      ctx: this.o.ctx,
      client: this.client,
      view: this.view,
      reporter: this.o.reporter,
      version: this.o.version,
      timeoutMs: 5000,
      acceptDataLoss: this.o.acceptDataLoss,
      run: this.journal && stepKey ? {journal: this.journal, lock: this.lock, stepKey} : undefined,
    }
  }

  info(msg: string) {
    this.o.reporter.info(this.redactor.text(msg))
  }

  async append(e: Parameters<Journal['append']>[0]) {
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
    const given = {...o.params}
    const res = await openResume(o, given)
    const resumed = res?.journal
    const name = res?.begin.runbook ?? o.name
    if (!name) throw new UsageError('no runbook named')
    const rb = await loadRunbook(name)
    const digest = await fullDigest(rb)
    if (res && res.begin.digest !== digest) {
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
    if (!o.dryRun && !o.yes && !o.interactive) {
      throw new RefusedError(`runbook ${name} changes the cluster and there is no terminal to confirm its steps`, {
        hint: 'pass --yes to run unattended, or --dry-run to see the plan',
      })
    }
    const h0 = await this.view.health().catch(() => undefined)
    const fp = h0 ? fingerprintOf(h0) : null
    if (resumed && fp) await confirmSameCluster(o, resumed, fp)

    const scope: Scope = {prefix: '', params, runbook: name}
    const pre = await checkPreconditions(this, rb, scope, Boolean(resumed))
    const base = {runbook: rb.runbook.metadata.name, context: o.ctx.name, fingerprint: fp}
    if (o.dryRun) {
      await runSteps(this, rb.runbook.steps, scope)
      return this.redactor.deep({
        ...base,
        runId: null,
        dryRun: true,
        status: 'planned',
        journal: null,
        plan: this.plan,
        steps: this.outcomes,
        resumed: false,
        lock: [],
      })
    }

    this.runId = resumed?.id ?? Journal.newId('run')
    if (rb.runbook.metadata.mutating !== false) {
      const forceUnlock = o.forceUnlock
        ? (holder: string) =>
            o.yes
              ? Promise.resolve(true)
              : o.prompts.confirm(
                  `remove the cluster lock held by ${holder}? Only do this if that run is really dead.`,
                  {destructive: true},
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
    const journal = resumed ?? (await this.begin(rb, name, digest, params, fp))
    this.journal = journal
    if (resumed) {
      this.done = resumed.completed()
      for (const e of resumed.all)
        if (e.step)
          for (let i = e.step.indexOf('/'); i >= 0; i = e.step.indexOf('/', i + 1))
            this.started.add(e.step.slice(0, i + 1))
      await this.append({type: 'resume', data: {resumed: true, fingerprint: fp, by: operatorId(), force: o.force}})
    }
    if (pre.overridden) await this.override('precondition', pre.failed.join('; '))
    const interrupt = new RunInterrupt({
      journal,
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
      await runSteps(this, rb.runbook.steps, scope)
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
      ...base,
      runId: this.runId,
      dryRun: false,
      status,
      journal: journal.path,
      plan: [],
      steps: this.outcomes,
      resumed: Boolean(resumed),
      lock: this.lock?.scopes ?? [],
    })
    if (error) throw failureOf(error, this.runId, this.redactor, result)
    return result
  }

  /** The journal's begin record: what runs (and its digest), where, with which params (secrets never), by whom. */
  private begin(
    rb: LoadedRunbook,
    name: string,
    digest: string,
    params: Scope['params'],
    fingerprint: RunResult['fingerprint'],
  ): Promise<Journal> {
    const redactedParams = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.secret ? null : v.value]))
    return Journal.create(
      runbookJournalDir(),
      this.runId,
      this.redactor.deep({
        runbook: name,
        name: rb.runbook.metadata.name,
        file: rb.file,
        digest,
        context: this.o.ctx.name,
        params: redactedParams,
        fingerprint,
        kind: 'runbook',
        by: operatorId(),
        force: this.o.force,
        lock: this.lock?.scopes ?? [],
        copy: rb.text,
      }),
    )
  }

  /** A safety check skipped by a named --force: warned about and journaled (who, when, what). */
  async override(check: OverrideCheck, detail: string): Promise<void> {
    this.o.reporter.warn(this.redactor.text(`check "${check}" overridden with --force ${check}: ${detail}`))
    await this.journal?.override(check, this.redactor.text(detail), this.current)
  }

  vars(scope: Scope, node?: NodeSpec): TemplateVars {
    return {
      params: scope.params,
      run: {id: this.runId},
      context: {name: this.o.ctx.name},
      node: node ? nodeVars(this.o.ctx, node) : undefined,
    }
  }

  exec(node: NodeSpec, command: string, opts: {timeoutMs: number}) {
    return this.remote.exec(node, command, opts)
  }

  async shellOn(node: NodeSpec, template: string, v: TemplateVars, sudo: boolean | undefined, timeoutMs: number) {
    const r = renderCommand(template, v)
    const needsStdin = Object.keys(r.env).length > 0
    const command = needsStdin ? 'sh -s' : r.command
    const opts = {timeoutMs, stdin: needsStdin ? stdinScript(r) : undefined}
    return sudo ? this.remote.execSudo(node, command, opts) : this.remote.exec(node, command, opts)
  }

  evalCondition(c: Condition, v: TemplateVars): Promise<boolean> {
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

  evalOrNull(c: Condition, v: TemplateVars): Promise<boolean | null> {
    return this.evalCondition(renderCondition(c, v), v).catch((e) => {
      if (e instanceof NotEvaluated) return null
      throw e
    })
  }
}

export async function runRunbook(o: RunOptions): Promise<RunResult> {
  return new RunbookEngine(o).run()
}
