/**
 * Runs fn over items with at most `limit` at once, results in input order: the one bound on fan-out
 * (SSH to hosts, sshd starts). A slow item holds one slot, never the others.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({length: Math.max(1, Math.min(limit, items.length))}, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await fn(items[i], i)
      }
    }),
  )
  return out
}
