import type {NodeSpec} from '../config/schema.js'
import {parseDuration} from '../config/duration.js'
import type {RunInterrupt} from '../core/engine/interrupt.js'
import type {Journal} from '../core/engine/journal.js'
import {OperationError, RefusedError, UsageError} from '../errors.js'
import type {HeldLock} from '../services/lock.js'
import {mapLimit} from '../core/concurrency.js'
import {newestVerifiedSnapshot} from './actions.js'
import {runOnTarget} from './attempts.js'
import {batches, fingerprintOf, quorumImpact, resolveTargets} from './cluster.js'
import {describeCondition, NOT_RUN} from './conditions.js'
import {kindOf} from './kinds/index.js'
import {Aborted} from './kinds/manual.js'
import {type LoadedRunbook, loadRunbook, resolveParams} from './loader.js'
import type {OverrideCheck} from './overrides.js'
import {planStep} from './plan.js'
import type {Condition, IncludeStep, Step} from './schema.js'
import {renderText, type TemplateVars} from './template.js'
import type {PlanEntry, Scope, StepEnv, StepOutcome} from './types.js'

/** How recent a verified snapshot a destructive step needs. */
export const MAX_SNAPSHOT_AGE = '24h'

class StepFailed extends OperationError {}

/** The run's state the step loop works on (RunbookEngine in executor.ts). */
export interface LoopEnv extends StepEnv {
  readonly outcomes: StepOutcome[]
  readonly plan: PlanEntry[]
  /** Step keys (key@target) completed in an earlier attempt of a resumed run. */
  readonly done: Set<string>
  /** Step-key prefixes the resumed journal has events of (an include entered before the interruption). */
  readonly started: Set<string>
  readonly includes: Map<string, LoadedRunbook>
  readonly lock: HeldLock | undefined
  readonly interrupt: RunInterrupt | undefined
  readonly nodeNames: string[]
  /** Step mode: the operator chose "run the rest". */
  runAll: boolean
  /** The step key in flight, for the abort message. */
  current: string | undefined
  append(e: Parameters<Journal['append']>[0]): Promise<void>
  info(msg: string): void
  override(check: OverrideCheck, detail: string): Promise<void>
  /** Renders and evaluates C; null in a dry run when it would run a command. */
  evalOrNull(c: Condition, v: TemplateVars): Promise<boolean | null>
}

export async function runSteps(env: LoopEnv, steps: Step[], scope: Scope): Promise<void> {
  for (const s of steps) await runStep(env, s, scope)
}

export async function targetsOf(env: LoopEnv, step: Step, scope: Scope): Promise<NodeSpec[] | undefined> {
  if (step.on === undefined || step.on === 'local') return undefined
  const exprs = [step.on].flat().map((t) => renderText(t, env.vars(scope)))
  return resolveTargets(env.o.ctx, exprs, () => env.view.health(), step.order)
}

/** The verb whose quorum impact a step has (stopping or removing ChainFire members), if any. */
export function quorumVerb(step: Step): 'stop' | 'restart' | 'remove' | undefined {
  if (step.kind === 'service' && step.service === 'chainfire' && (step.verb === 'stop' || step.verb === 'restart'))
    return step.verb
  if (step.kind === 'action' && step.action === 'member-remove') return 'remove'
  return undefined
}

/** One step: when:, targets, dry-run plan or (resume skip, step prompt, confirm:, snapshot, batches), on_failure. */
export async function runStep(env: LoopEnv, step: Step, scope: Scope): Promise<void> {
  const o = env.o
  const key = scope.prefix + step.id
  if (env.lock?.lost)
    throw new RefusedError(`the cluster lock was lost (${env.lock.lost}); stopping before step ${key}`)
  if (!o.dryRun) {
    env.current = key
    env.interrupt?.check()
  }
  const v = env.vars(scope)
  let unevaluated: string | undefined
  if (step.when) {
    const ok = await env.evalOrNull(step.when, v)
    if (ok === null) unevaluated = `when ${describeCondition(step.when)}: ${NOT_RUN}`
    if (ok === false) {
      const why = `when ${describeCondition(step.when)}`
      if (o.dryRun)
        env.plan.push({
          step: key,
          kind: step.kind,
          name: step.name,
          targets: [],
          describe: [`skipped: ${why} is false now`],
          when: 'false',
          readOnly: true,
        })
      else {
        env.outcomes.push({step: key, kind: step.kind, status: 'skipped', detail: `${why} is false`})
        if (!env.done.has(key))
          await env.append({type: 'step-end', step: key, ok: true, data: {status: 'skipped', reason: 'when'}})
      }
      return
    }
  }
  const targets = await targetsOf(env, step, scope)
  const h =
    targets && (step.serial !== undefined || step.kind === 'service' || quorumVerb(step) === 'remove')
      ? await env.view.health().catch(() => undefined)
      : undefined
  const groups = targets ? batches(targets, step.serial, h) : [[undefined]]

  if (o.dryRun) return planStep(env, step, scope, {targets, groups, health: h, unevaluated})

  const all = targets ?? [undefined]
  const keys = all.map((n) => (n ? `${key}@${n.name}` : key))
  if (step.kind !== 'runbook' && keys.every((k) => env.done.has(k))) {
    for (const n of all) env.outcomes.push({step: key, kind: step.kind, target: n?.name, status: 'completed-before'})
    return
  }
  if (!(await gate(env, step, scope, key, targets))) return

  try {
    for (const g of groups) {
      const names = g.flatMap((n) => (n ? [n.name] : []))
      const verb = quorumVerb(step)
      if (verb === 'stop' || verb === 'restart') {
        const hh = await env.view.health().catch(() => undefined)
        const imp = hh ? quorumImpact(hh, verb, names) : undefined
        if (imp && !imp.quorum && hh?.quorum) {
          if (!o.force.includes('quorum'))
            throw new RefusedError(`step ${key} refused: ${imp.text}`, {
              hint: 'override this check alone with --force quorum',
            })
          await env.override('quorum', `step ${key}: ${imp.text}`)
        } else if (imp) env.info(`${key}: ${imp.text}`)
      }
      if (step.kind === 'runbook') {
        // One batch runs its includes side by side; batches follow each other.
        await Promise.all(g.map((n) => runInclude(env, step, scope, n)))
        continue
      }
      // One fingerprint per batch, shared by its targets (cluster state does not differ per host).
      const fp = env.view
        .health()
        .then(fingerprintOf)
        .catch(() => null)
      const results = await mapLimit(g, o.forks ?? 32, (n) => runOnTarget(env, step, scope, key, n, fp))
      failIfAny(key, results)
    }
  } catch (error) {
    const policy = step.on_failure ?? 'abort'
    if (error instanceof Aborted || policy === 'abort') throw error
    if (policy === 'continue') {
      o.reporter.warn(env.redactor.text(`${(error as Error).message}; continuing (on_failure: continue)`))
      return
    }
    o.reporter.warn(env.redactor.text(`${(error as Error).message}; running rescue steps`))
    await runSteps(env, policy.rescue, {...scope, prefix: `${key}/rescue/`})
  }
}

/** The batch's failures as one error: refused (exit 6), local input (exit 2), or a failed step (exit 3). */
function failIfAny(key: string, results: StepOutcome[]): void {
  const failed = results.filter((r) => r.status === 'failed')
  const on = (fs: StepOutcome[]) => fs.map((f) => `${f.target ?? 'cluster'}: ${f.error}`).join('; ')
  if (failed.some((f) => f.refused)) throw new RefusedError(`step ${key} refused on ${on(failed)}`)
  const input = failed.filter((f) => f.input)
  if (input.length > 0) throw new UsageError(`step ${key} cannot run from here on ${on(input)}`)
  if (failed.length > 0)
    throw new StepFailed(
      `step ${key} failed on ${failed.map((f) => `${f.target ?? 'cluster'} (${f.failure} failure: ${f.error})`).join('; ')}`,
      {failure: failed[0].failure},
    )
}

/**
 * What a step needs before it runs: the operator's go in step mode (false: skipped), its own
 * confirm: question, and for a destructive step a recent verified snapshot (or --force snapshot).
 */
async function gate(
  env: LoopEnv,
  step: Step,
  scope: Scope,
  key: string,
  targets: NodeSpec[] | undefined,
): Promise<boolean> {
  const o = env.o
  const stepped = o.stepMode && !env.runAll
  if (stepped) {
    const kind = kindOf(step)
    const lines = (targets ?? [undefined])
      .flatMap((n) => kind.describe(env, step, env.vars(scope, n), n))
      .map((l) => env.redactor.text(l))
    const d = await o.prompts.step({
      step: key,
      kind: step.kind,
      name: step.name,
      targets: (targets ?? []).map((n) => n.name),
      lines,
    })
    if (d === 'abort') throw new Aborted(`aborted by the operator before step ${key}`)
    if (d === 'skip') {
      env.outcomes.push({step: key, kind: step.kind, status: 'skipped', detail: 'skipped by the operator'})
      await env.append({type: 'step-end', step: key, ok: true, data: {status: 'skipped', reason: 'operator'}})
      return false
    }
    if (d === 'all') env.runAll = true
  }
  // A step's confirm: is its own question; in a production context "run" at the step prompt is not enough.
  if (step.confirm && !o.yes && (!stepped || o.ctx.environment === 'production')) {
    const msg = typeof step.confirm === 'string' ? renderText(step.confirm, env.vars(scope)) : `run step ${key}?`
    if (!(await o.prompts.confirm(env.redactor.text(msg), {destructive: true})))
      throw new Aborted(`step ${key} not confirmed`)
  }
  if (step.destructive) {
    const snap = await newestVerifiedSnapshot(o, parseDuration(MAX_SNAPSHOT_AGE, 'max-snapshot-age'))
    const why = `step ${key} is destructive and there is no verified snapshot newer than ${MAX_SNAPSHOT_AGE}`
    if (!snap && !o.force.includes('snapshot'))
      throw new RefusedError(why, {
        hint: 'run `plasmactl snapshot save` first, or override this check alone with --force snapshot',
      })
    if (snap) env.info(`${key}: destructive; newest verified snapshot is ${snap.id}`)
    else await env.override('snapshot', why)
  }
  return true
}

/** kind: runbook — the included runbook's steps under "STEP[@NODE]/", its params rendered in this scope. */
export async function runInclude(env: LoopEnv, step: IncludeStep, scope: Scope, node: NodeSpec | undefined) {
  let sub = env.includes.get(step.runbook)
  if (!sub) {
    sub = await loadRunbook(step.runbook)
    env.includes.set(step.runbook, sub)
  }
  const v = env.vars(scope, node)
  const given = Object.fromEntries(Object.entries(step.params ?? {}).map(([k, val]) => [k, renderText(String(val), v)]))
  const params = resolveParams(sub.runbook, given, env.nodeNames)
  // A param of the parent passed down keeps its secrecy.
  for (const [k, p] of Object.entries(params))
    if (Object.values(scope.params).some((pp) => pp.secret && String(pp.value) === String(p.value)))
      params[k] = {...p, secret: true}
  const prefix = `${scope.prefix}${step.id}${node ? `@${node.name}` : ''}/`
  const subScope: Scope = {prefix, params, runbook: sub.name}
  // An include entered before a resume was started with its preconditions holding (see executor.ts).
  for (const c of env.o.dryRun || env.started.has(prefix) ? [] : (sub.runbook.preconditions ?? [])) {
    if (await env.evalOrNull(c, env.vars(subScope))) continue
    const why = `${sub.name}: precondition failed: ${describeCondition(c)}`
    if (!env.o.force.includes('precondition'))
      throw new RefusedError(why, {
        hint: 'fix the cluster first, or override this check alone with --force precondition',
      })
    await env.override('precondition', why)
  }
  await runSteps(env, sub.runbook.steps, subScope)
}
