import type {GetContextsResult} from './contexts.js'

/** Plain aligned columns, no colours: pipes into grep/awk and reads fine at 3 a.m. */
export function formatTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  return [line(headers), ...rows.map((r) => line(r))].join('\n')
}

export function formatContexts(result: GetContextsResult): string {
  if (result.contexts.length === 0) return `no contexts in ${result.path}`
  return formatTable(
    ['CURRENT', 'NAME', 'ENVIRONMENT', 'NODES', 'ENDPOINTS'],
    result.contexts.map((c) => [c.current ? '*' : '', c.name, c.environment, String(c.nodes), c.endpoints.join(',') || '-']),
  )
}
