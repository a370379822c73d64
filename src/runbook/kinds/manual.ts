import {RefusedError} from '../../errors.js'
import type {ManualStep} from '../schema.js'
import {renderText} from '../template.js'
import type {StepKind} from '../types.js'

/** The operator said no to a manual step or a confirmation: the run stops as aborted. */
export class Aborted extends RefusedError {}

/** kind: manual — instructions the operator carries out and confirms (unattended: only with --allow-manual). */
export const manualKind: StepKind<ManualStep> = {
  describe(_env, step, v) {
    return [`manual: ${renderText(step.instructions, v)}`]
  },
  async execute(env, step, scope, node) {
    const text = renderText(step.instructions, env.vars(scope, node))
    const key = `${scope.prefix}${step.id}`
    if (env.o.yes && !env.o.allowManual)
      throw new RefusedError(`step ${key} is manual and the run is unattended: ${text}`, {
        hint: 'do it by hand and pass --allow-manual, or run on a terminal without --yes',
      })
    if (env.o.yes) return {ok: true, detail: `manual step allowed (--allow-manual): ${text}`, output: ''}
    const ok = await env.o.prompts.confirm(`MANUAL: ${env.redactor.text(text)}\nDone?`)
    if (!ok) throw new Aborted(`manual step ${key} not confirmed`)
    return {ok: true, detail: 'confirmed by the operator', output: ''}
  },
}
