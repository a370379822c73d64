import {formatDuration} from '../../config/duration.js'
import {OperationError} from '../../errors.js'

/**
 * WORK, or an OperationError once MS have passed: a health check reports within its timeout whatever a
 * client's own retries would do (a ChainFire read without quorum otherwise waits out every endpoint,
 * every round). The abandoned work ends on its own deadline; its failure is nobody's concern.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, what?: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new OperationError(`no answer within ${formatDuration(ms)}${what ? ` (${what})` : ''}`)),
      ms,
    )
  })
  work.catch(() => undefined)
  try {
    return await Promise.race([work, expired])
  } finally {
    clearTimeout(timer)
  }
}
