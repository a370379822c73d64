import {RefusedError} from '../errors.js'
import type {RunPrompts, StepDecision, StepPreview} from '../runbook/executor.js'
import {isInteractive} from './config-init.js'
import {ask, confirmOrFail, type ConfirmOptions} from './confirm.js'

/**
 * Prompts of a runbook run. Every one has a flag: --yes answers confirmations and runs without
 * stepping; without a terminal the engine refuses before anything runs (cron never hangs). TYPED:
 * in a production context a destructive confirmation wants the context's name typed.
 */
export function runbookPrompts(log: (s: string) => void, typed?: ConfirmOptions['typed']): RunPrompts {
  return {
    async step(p: StepPreview): Promise<StepDecision> {
      if (!isInteractive())
        throw new RefusedError(`step ${p.step} needs a decision and there is no terminal`, {hint: 'pass --yes'})
      log(`\n── step ${p.step} (${p.kind})${p.name ? `: ${p.name}` : ''}`)
      if (p.targets.length) log(`   targets (resolved now): ${p.targets.join(', ')}`)
      for (const l of p.lines) log(`   ${l}`)
      const {select} = await import('@inquirer/prompts')
      return ask(() =>
        select<StepDecision>(
          {
            message: `step ${p.step}?`,
            choices: [
              {name: 'run', value: 'run'},
              {name: 'skip', value: 'skip'},
              {name: 'abort', value: 'abort'},
              {name: 'run the rest without asking', value: 'all'},
            ],
          },
          {output: process.stderr},
        ),
      )
    },
    confirm: (message, opts) => confirmOrFail(message, {flag: '--yes', typed: opts?.destructive ? typed : undefined}),
  }
}

export {isInteractive}
