import {RefusedError} from '../errors.js'
import {isInteractive} from './config-init.js'

/**
 * Confirmation for a destructive step. --yes answers it; without a terminal and without --yes the
 * command is refused (exit 6) naming the flag, so cron never hangs on a prompt.
 */
export async function confirmOrFail(message: string, opts: {yes?: boolean; flag?: string}): Promise<boolean> {
  if (opts.yes) return true
  if (!isInteractive()) {
    throw new RefusedError(`confirmation needed and no terminal to ask: ${message}`, {hint: `pass ${opts.flag ?? '--yes'} to confirm, or --dry-run to see the plan`})
  }
  const {confirm} = await import('@inquirer/prompts')
  return confirm({message, default: false}, {output: process.stderr})
}
