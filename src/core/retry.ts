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
  /** false: wait exactly the backoff (a pause the user asked for, e.g. a runbook step's delay:). */
  jitter?: boolean
  /** Told before each retry (the failure, the attempt that failed, the wait). */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void
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
      const base = opts.baseMs ?? 100
      const max = opts.maxMs ?? 2000
      const ms = opts.jitter === false ? Math.min(max, base * 2 ** attempt) : backoffDelay(attempt, base, max)
      opts.onRetry?.(error, attempt, ms)
      await new Promise((r) => setTimeout(r, ms))
    }
  }
}
