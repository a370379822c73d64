import {RefusedError, UsageError} from '../errors.js'
import {isInteractive} from './config-init.js'
import {ask} from './confirm.js'

/**
 * The separate confirmation of deleting a removed node's data: --confirm-wipe NODE answers it (the
 * node's name, so a pasted command cannot wipe another node); otherwise the operator types the name.
 */
export async function confirmWipeData(node: string, dir: string, answer?: string): Promise<boolean> {
  if (answer !== undefined) {
    if (answer !== node)
      throw new UsageError(`--confirm-wipe must name the node being removed (${node}), not "${answer}"`)
    return true
  }
  if (!isInteractive()) {
    throw new RefusedError(`--wipe-data deletes ${node}:${dir} and needs its own confirmation; no terminal to ask`, {
      hint: `pass --confirm-wipe ${node}, or drop --wipe-data to keep the data`,
    })
  }
  const {input} = await import('@inquirer/prompts')
  const typed = await ask(() =>
    input(
      {message: `Type the node name (${node}) to DELETE ${dir} on it after the removal:`},
      {output: process.stderr},
    ),
  )
  return typed.trim() === node
}
