import {RefusedError} from '../errors.js'
import type {RunPrompts, StepDecision, StepPreview} from '../runbook/executor.js'
import {isInteractive} from './config-init.js'
import {ask} from './confirm.js'

/**
 * Prompts of a runbook run. Every one has a flag: --yes answers confirmations and runs without
 * stepping; without a terminal the engine refuses before anything runs (cron never hangs).
 */
export function runbookPrompts(log: (s: string) => void): RunPrompts {
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
    async confirm(message: string): Promise<boolean> {
      if (!isInteractive())
        throw new RefusedError(`confirmation needed and no terminal to ask: ${message}`, {hint: 'pass --yes'})
      const {confirm} = await import('@inquirer/prompts')
      return ask(() => confirm({message, default: false}, {output: process.stderr}))
    },
  }
}

export {isInteractive}
