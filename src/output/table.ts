import {styleText} from 'node:util'

/** Colour only for a terminal that wants it (NO_COLOR, FORCE_COLOR respected). */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  if (process.env.NO_COLOR) return false
  if (process.env.FORCE_COLOR && process.env.FORCE_COLOR !== '0') return true
  return Boolean(stream.isTTY)
}

type Style = Parameters<typeof styleText>[0]

export function paint(style: Style, text: string, color = useColor()): string {
  return color ? styleText(style, text) : text
}

const STATUS_STYLE: Record<string, Style> = {
  ok: 'green',
  warn: 'yellow',
  crit: ['red', 'bold'],
  unknown: 'magenta',
  skipped: 'gray',
  error: 'red',
}

export function paintStatus(status: string, text = status.toUpperCase(), color = useColor()): string {
  return paint(STATUS_STYLE[status] ?? 'reset', text, color)
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[0-9;]*m/g
const width = (s: string) => s.replace(ANSI, '').length

/** Terminal width a narrow table fits (kubectl's default view); `-o wide` shows every column. */
export const NARROW_WIDTH = 80

/** Cuts plain text to N characters with an ellipsis (colour codes are dropped when cut). */
export function truncate(text: string, n: number): string {
  if (width(text) <= n) return text
  return `${text.replace(ANSI, '').slice(0, Math.max(0, n - 1))}…`
}

/**
 * A plain aligned table: header row, then rows; cells may carry colour. With maxWidth, the last
 * column is cut so that every line fits.
 */
export function renderTable(headers: string[], rows: string[][], {maxWidth}: {maxWidth?: number} = {}): string {
  if (maxWidth && headers.length > 1) {
    const before = headers
      .slice(0, -1)
      .map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))) + 2)
      .reduce((a, b) => a + b, 0)
    const room = Math.max(width(headers.at(-1)!), maxWidth - before)
    rows = rows.map((r) => [...r.slice(0, -1), truncate(r.at(-1) ?? '', room)])
  }
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(r[i] ?? ''))))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i] - width(c))))
      .join('  ')
      .trimEnd()
  return [line(headers), ...rows.map(line)].join('\n')
}

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let u = 0
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024
    u++
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`
}

export const dash = (v: unknown): string => (v === null || v === undefined || v === '' ? '-' : String(v))

/** Keeps the columns of a narrow view (by header), or every column when WIDE. */
export function pickColumns(
  headers: string[],
  rows: string[][],
  narrow: string[],
  wide: boolean,
): {headers: string[]; rows: string[][]} {
  if (wide) return {headers, rows}
  const keep = headers.flatMap((h, i) => (narrow.includes(h) ? [i] : []))
  return {headers: keep.map((i) => headers[i]), rows: rows.map((r) => keep.map((i) => r[i]))}
}

export interface TableView {
  /** Every column (-o wide) instead of the ones that fit 80 columns. */
  wide?: boolean
}
