import {PlasmaError} from '../errors.js'
import {
  ENVIRONMENTS,
  type Environment,
  type InitAnswers,
  type InitNode,
  parseNodeFlag,
} from '../services/config/init.js'

/** Prompts only where someone can answer: stdin and stderr (where prompts draw) are terminals. */
export function isInteractive(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY)
}

function validNode(value: string): true | string {
  try {
    parseNodeFlag(value)
    return true
  } catch (error) {
    return error instanceof PlasmaError ? error.message : String(error)
  }
}

/**
 * Asks for what the flags did not answer: the required answers always, the optional ones only when
 * no flag was given at all (the full wizard). Each prompt names the flag that answers it.
 */
export async function promptInitAnswers(given: Partial<InitAnswers>): Promise<Partial<InitAnswers>> {
  // Loaded only when someone is there to answer: cron runs never pay for it.
  const {input, select} = await import('@inquirer/prompts')
  // Prompts draw on stderr: stdout carries only the command's result.
  const ctx = {output: process.stderr}
  const wizard = Object.values(given).every((v) => v === undefined)
  const out: Partial<InitAnswers> = {}
  if (!given.contextName) {
    out.contextName = await input({message: 'Context name (--context-name)', default: 'prod', required: true}, ctx)
  }
  if (!given.environment) {
    out.environment = await select<Environment>(
      {message: 'Environment (--environment)', choices: ENVIRONMENTS.map((e) => ({value: e, name: e}))},
      ctx,
    )
  }
  if (!given.nodes || given.nodes.length === 0) {
    const nodes: InitNode[] = []
    for (;;) {
      const message = `Node ${nodes.length + 1} as name=address[:role,…] (--node)${nodes.length > 0 ? ', empty to finish' : ''}`
      const answer = await input(
        {message, validate: (v) => (v.trim() === '' ? nodes.length > 0 || 'at least one node' : validNode(v.trim()))},
        ctx,
      )
      if (answer.trim() === '') break
      nodes.push(parseNodeFlag(answer.trim()))
    }
    out.nodes = nodes
  }
  if (wizard) {
    out.sshUser =
      (await input({message: 'SSH user (--ssh-user)', default: process.env.USER ?? 'root'}, ctx)) || undefined
    out.identityFile =
      (await input({message: 'SSH private key path, empty for the agent/defaults (--identity-file)'}, ctx)) || undefined
    const endpoints = await input(
      {
        message: 'ChainFire endpoints, comma-separated; empty to use every chainfire node (--endpoint)',
        validate: (v) =>
          v.split(',').every((e) => e.trim() === '' || URL.canParse(e.trim())) ||
          'expected URLs like http://10.0.0.11:2379',
      },
      ctx,
    )
    const list = endpoints
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean)
    if (list.length > 0) out.endpoints = list
  }
  return out
}
