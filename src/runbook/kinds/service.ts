import {serviceCommand} from '../../config/context.js'
import type {ServiceStep} from '../schema.js'
import {renderText} from '../template.js'
import type {StepKind} from '../types.js'
import {lastLines, targetOf, timeoutOf} from './shell.js'

/** kind: service — a service verb on each target (the context's service command, else systemctl). */
export const serviceKind: StepKind<ServiceStep> = {
  describe(env, step, v, node) {
    const n = targetOf(step, node)
    return [`${n.name}: ${serviceCommand(env.o.ctx, n, renderText(step.service, v), step.verb)}`]
  },
  async execute(env, step, scope, node) {
    const n = targetOf(step, node)
    const cmd = serviceCommand(env.o.ctx, n, renderText(step.service, env.vars(scope, n)), step.verb)
    const r = await env.exec(n, cmd, {timeoutMs: timeoutOf(step, 120_000)})
    return {
      ok: r.exitCode === 0,
      exitCode: r.exitCode,
      detail: r.exitCode === 0 ? lastLines(r.stdout) : `exit ${r.exitCode}: ${lastLines(r.stderr || r.stdout)}`,
      output: '',
    }
  },
}
