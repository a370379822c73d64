import {RefusedError} from '../errors.js'
import {isInteractive} from './config-init.js'

/**
 * A drill on a production context: the operator types the context name (as for deleting a
 * repository). Without a terminal there is nobody to type it: refused (exit 6).
 */
export async function confirmProductionDrill(context: string, drill: string): Promise<boolean> {
  if (!isInteractive()) {
    throw new RefusedError(
      `drill ${drill} on production context ${context} needs the context name typed at a prompt, and there is no terminal`,
      {hint: 'run it from a terminal with --allow-production'},
    )
  }
  const {input} = await import('@inquirer/prompts')
  const typed = await input(
    {
      message: `Drill ${drill} injects a real fault into production context ${context}. Type the context name to go on:`,
    },
    {output: process.stderr},
  )
  return typed.trim() === context
}
