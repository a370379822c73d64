/**
 * Plain code-unit order for names, ids and ISO timestamps. The same on every machine whatever its
 * locale, and free: String.prototype.localeCompare loads ICU's collation data on its first call in
 * a process, 15–45 ms of a cold start on a 2-core machine.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** compareText, with runs of digits compared as numbers: store-2 before store-10. */
export function compareNatural(a: string, b: string): number {
  const xs = a.match(/\d+|\D+/g) ?? []
  const ys = b.match(/\d+|\D+/g) ?? []
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    const [x, y] = [xs[i], ys[i]]
    if (isDigit(x) && isDigit(y)) {
      const [u, v] = [x.replace(/^0+(?=\d)/, ''), y.replace(/^0+(?=\d)/, '')]
      const c = u.length - v.length || compareText(u, v)
      if (c) return Math.sign(c)
    }
    const c = compareText(x, y)
    if (c) return c
  }
  return Math.sign(xs.length - ys.length)
}

const isDigit = (s: string) => s.charCodeAt(0) >= 48 && s.charCodeAt(0) <= 57
