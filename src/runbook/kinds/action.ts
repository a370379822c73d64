import {describeAction, planAction, runAction} from '../actions.js'
import type {ActionStep} from '../schema.js'
import {renderDeep} from '../template.js'
import type {StepKind} from '../types.js'
import {timeoutOf} from './shell.js'

/** kind: action — a built-in action (src/runbook/actions.ts) with its `with:` arguments. */
export const actionKind: StepKind<ActionStep> = {
  describe(_env, step, v, node) {
    return [`${node ? `${node.name}: ` : ''}${describeAction(step.action, renderDeep(step.with ?? {}, v), node)}`]
  },
  async plan(env, step, scope) {
    const lines = await planAction(env.actionContext(), step.action, renderDeep(step.with ?? {}, env.vars(scope)))
    return {lines: lines.map((l) => env.redactor.text(l))}
  },
  async execute(env, step, scope, node) {
    const args = renderDeep(step.with ?? {}, env.vars(scope, node))
    const key = `${scope.prefix}${step.id}${node ? `@${node.name}` : ''}`
    const r = await runAction(env.actionContext(key), step.action, args, node, timeoutOf(step, 60_000))
    return {ok: true, detail: r.detail, output: r.output ?? ''}
  },
}
