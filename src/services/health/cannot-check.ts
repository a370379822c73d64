import {HostKeyRefusedError} from '../../adapters/ssh/errors.js'
import type {LoadedConfig} from '../../config/load.js'
import type {Context} from '../../config/schema.js'
import {PlasmaError, UsageError} from '../../errors.js'
import {configLineOf} from '../config/files.js'

/** We could not look: the cause is on our side (key, known_hosts, TLS files, config, network), not the host's. */
export interface CannotCheck {
  cause: string
  /** The local file at fault, when there is one. */
  file?: string
}

/**
 * The local cause of a failed check, or undefined when the failure says something about the remote
 * side (refused, timed out, crashed). An unreadable key or known_hosts, a host key our known_hosts
 * lacks or contradicts, a key the host does not accept, no route from here: none of these is an outage.
 */
export function cannotCheck(error: unknown): CannotCheck | undefined {
  const file = error instanceof PlasmaError && typeof error.details.file === 'string' ? error.details.file : undefined
  const message = plainFsText((error as Error)?.message ?? String(error))
  if (error instanceof UsageError || error instanceof HostKeyRefusedError) return {cause: message, file}
  if (error instanceof PlasmaError && error.details.cause === 'client-authentication')
    return {cause: `${message} (our key)`}
  if (/ENETUNREACH|EADDRNOTAVAIL/.test(message)) return {cause: `no route from this machine (our network): ${message}`}
  return undefined
}

/** Node's "ENOENT: no such file or directory, open '/x'" in words. */
export function plainFsText(message: string): string {
  return message
    .replace(/: ENOENT: no such file or directory, \w+ '[^']*'/, ': the file does not exist')
    .replace(/: EACCES: permission denied, \w+ '[^']*'/, ': permission denied (not readable by this user)')
    .replace(/: EISDIR: illegal operation on a directory, \w+(?: '[^']*')?/, ': it is a directory')
}

/** The cause with the config line that names the file: "cannot read …; set at config.yaml:12 (ssh.identity-file)". */
export async function describeCannotCheck(loaded: LoadedConfig, ctx: Context, c: CannotCheck): Promise<string> {
  const line = await configLineOf(loaded, ctx, c.file)
  return line ? `${c.cause}; set at ${line}` : c.cause
}
