/**
 * Retries an idempotent call on transient failures with exponential backoff and full jitter. Every
 * client (OVSDB, HTTP, gRPC health) goes through this; a non-transient failure is thrown at once so
 * a component that is down is reported without delay.
 */
export interface RetryOptions {
  /** Retries after the first attempt (default 2). */
  retries?: number
  /** First backoff; doubles each retry (default 100 ms). */
  baseMs?: number
  /** Upper bound of one backoff (default 2 s). */
  maxMs?: number
  isTransient: (error: unknown) => boolean
  signal?: AbortSignal
}

export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** attempt)
  return cap / 2 + Math.random() * (cap / 2)
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const retries = opts.retries ?? 2
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt)
    } catch (error) {
      if (attempt >= retries || !opts.isTransient(error) || opts.signal?.aborted) throw error
      await new Promise((r) => setTimeout(r, backoffDelay(attempt, opts.baseMs ?? 100, opts.maxMs ?? 2000)))
    }
  }
}
