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

const STATUS_STYLE: Record<string, Style> = {ok: 'green', warn: 'yellow', crit: ['red', 'bold'], unknown: 'magenta', skipped: 'gray', error: 'red'}

export function paintStatus(status: string, text = status.toUpperCase(), color = useColor()): string {
  return paint(STATUS_STYLE[status] ?? 'reset', text, color)
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001B\[[0-9;]*m/g
const width = (s: string) => s.replace(ANSI, '').length

/** A plain aligned table: header row, then rows; cells may carry colour. */
export function renderTable(headers: string[], rows: string[][]): string {
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
