import {InterruptedError, RefusedError} from '../errors.js'
import {isInteractive} from './config-init.js'

export interface ConfirmOptions {
  yes?: boolean
  flag?: string
  /** In a production context the operator types this name (the node's or the context's) instead of answering y/N. */
  typed?: {environment: string; name: string; what: 'node' | 'context' | 'host'}
}

/**
 * Asks one inquirer prompt; Ctrl-C there is an interruption (exit 130, the caller journals what it
 * left), never inquirer's "User force closed the prompt".
 */
export async function ask<T>(prompt: () => Promise<T>): Promise<T> {
  try {
    return await prompt()
  } catch (error) {
    if ((error as {name?: string})?.name === 'ExitPromptError')
      throw new InterruptedError('interrupted at a prompt (Ctrl-C)', {}, {cause: error})
    throw error
  }
}

/**
 * Confirmation for a destructive step. --yes answers it; without a terminal and without --yes the
 * command is refused (exit 6) naming the flag, so cron never hangs on a prompt. In a production
 * context the name of what is changed must be typed: a reflexive "y" is not enough there.
 */
export async function confirmOrFail(message: string, opts: ConfirmOptions): Promise<boolean> {
  if (opts.yes) return true
  if (!isInteractive()) {
    throw new RefusedError(`confirmation needed and no terminal to ask: ${message}`, {
      hint: `pass ${opts.flag ?? '--yes'} to confirm, or --dry-run to see the plan`,
    })
  }
  if (opts.typed?.environment === 'production') {
    const {input} = await import('@inquirer/prompts')
    const {name, what} = opts.typed
    const answer = await ask(() =>
      input(
        {
          message: `${message}\n  This is a PRODUCTION context: type the ${what} name (${name}) to confirm, anything else cancels:`,
        },
        {output: process.stderr},
      ),
    )
    return answer.trim() === name
  }
  const {confirm} = await import('@inquirer/prompts')
  return ask(() => confirm({message, default: false}, {output: process.stderr}))
}
