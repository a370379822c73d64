import {run as runLocal} from '../../adapters/exec/index.js'
import type {NodeSpec} from '../../config/schema.js'
import {parseDuration} from '../../config/duration.js'
import {UsageError} from '../../errors.js'
import {sudoCommand} from '../../services/remote.js'
import {localStepEnv} from '../local-env.js'
import type {LocalStep, RunStep, Step} from '../schema.js'
import {renderCommand} from '../template.js'
import type {Attempt, StepKind} from '../types.js'

/** Helpers every kind shares: the step's timeout, its one target, a failure's last lines. */
export function timeoutOf(step: Step, fallbackMs: number): number {
  return step.timeout === undefined ? fallbackMs : parseDuration(step.timeout, `step ${step.id} timeout`)
}

export function targetOf(step: Step, node: NodeSpec | undefined): NodeSpec {
  if (!node) throw new UsageError(`step ${step.id}: kind "${step.kind}" runs on a node: give it "on" (targets)`)
  return node
}

export function lastLines(s: string): string {
  return s.trim().split('\n').slice(-3).join('; ')
}

/** A command's result as an attempt: ok on exit 0, else the exit and its last lines. */
export function exitAttempt(r: {
  exitCode?: number | null
  signal?: string | null
  stdout: string
  stderr: string
}): Attempt {
  return {
    ok: r.exitCode === 0,
    exitCode: r.exitCode,
    detail: r.exitCode === 0 ? '' : `exit ${r.exitCode ?? r.signal}: ${lastLines(r.stderr || r.stdout)}`,
    output: r.stdout + r.stderr,
  }
}

/** kind: run — a shell command on each target over SSH (with sudo: as root). */
export const runKind: StepKind<RunStep> = {
  describe(_env, step, v, node) {
    const r = renderCommand(step.command, v)
    return [`${node ? `${node.name}: ` : ''}${step.sudo ? sudoCommand(r.command) : r.command}`]
  },
  async execute(env, step, scope, node) {
    const n = targetOf(step, node)
    return exitAttempt(await env.shellOn(n, step.command, env.vars(scope, n), step.sudo, timeoutOf(step, 600_000)))
  },
}

/** kind: local — a shell command on this machine, with the context's environment. */
export const localKind: StepKind<LocalStep> = {
  describe(_env, step, v) {
    return [renderCommand(step.command, v).command]
  },
  async execute(env, step, scope, node) {
    const r = renderCommand(step.command, env.vars(scope, node))
    const vars = {...(await localStepEnv(env.o.loaded.path, env.o.ctx.name)), ...r.env}
    const res = await runLocal('/bin/sh', ['-c', r.command], {env: vars, timeoutMs: timeoutOf(step, 600_000)})
    return exitAttempt(res)
  },
}
