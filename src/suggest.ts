/** Levenshtein distance, two rows. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({length: b.length + 1}, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]
}

/** "; did you mean X?" for the closest of CANDIDATES to TYPED, or "" when none is close. */
export function didYouMean(typed: string, candidates: readonly string[]): string {
  let best: {c: string; d: number} | undefined
  for (const c of candidates) {
    const d = editDistance(typed, c)
    if (d <= Math.max(2, Math.floor(c.length / 3)) && (!best || d < best.d)) best = {c, d}
  }
  return best ? `; did you mean "${best.c}"?` : ''
}
