import {formatDuration} from '../config/duration.js'
import {formatBytes} from './table.js'

export interface ProgressState {
  bytes: number
  total: number
  rateBytesPerSec: number
  etaMs: number | null
}

/** One-line progress bar on a TTY (stderr); nothing at all otherwise. */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): {
  update: (p: ProgressState) => void
  done: () => void
} {
  if (!stream.isTTY) return {update() {}, done() {}}
  let drawn = false
  return {
    update(p) {
      const frac = p.total > 0 ? Math.min(1, p.bytes / p.total) : 0
      const width = 30
      const filled = Math.round(frac * width)
      const bar = '█'.repeat(filled) + '░'.repeat(width - filled)
      const eta = p.etaMs === null ? '' : ` ETA ${formatDuration(p.etaMs)}`
      stream.write(
        `\r${bar} ${(frac * 100).toFixed(0).padStart(3)}% ${formatBytes(p.bytes)}/${formatBytes(p.total)} ${formatBytes(p.rateBytesPerSec)}/s${eta}\u001B[K`,
      )
      drawn = true
    },
    done() {
      // The last state stays on screen and the line is ended, so what follows starts on its own line.
      if (drawn) stream.write('\n')
      drawn = false
    },
  }
}
