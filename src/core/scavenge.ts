import {setFlagsFromString} from 'node:v8'
import {runInNewContext} from 'node:vm'

type Gc = (options: {type: 'minor'}) => void

let gc: Gc | null | undefined

/**
 * V8's `gc` function, for minor collections on demand; null where the runtime refuses. `--expose-gc`
 * set at run time applies to contexts made after it, so the function comes from a fresh context (as
 * jest's leak detector gets it); the flag is then unset again.
 */
function minorGc(): Gc | null {
  if (gc !== undefined) return gc
  try {
    setFlagsFromString('--expose-gc')
    const fn: unknown = runInNewContext('gc')
    gc = typeof fn === 'function' ? (fn as Gc) : null
  } catch {
    gc = null
  } finally {
    setFlagsFromString('--no-expose-gc')
  }
  return gc
}

/**
 * Scavenges (a minor GC) each time `everyBytes` of a stream have passed. Each chunk a stream hands
 * over is a Buffer whose bytes live outside V8's heap until a scavenge finds its small wrapper dead;
 * the young generation fills slowly with small wrappers, so without this a 630 MiB snapshot save
 * held tens of MiB of received chunks at once (peak RSS 125–128 MiB; 82–85 MiB scavenging, at the
 * same speed: docs/snapshot-performance.md). A scavenge of a young generation that is mostly garbage
 * takes 0.2–0.4 ms. What the stream keeps must die young (copied, not held): an object alive across
 * two scavenges is promoted, and its bytes then wait for a full GC.
 */
export class Scavenger {
  private since = 0
  private readonly gc = minorGc()

  constructor(private readonly everyBytes: number) {}

  /** Counts bytes that passed; scavenges once every `everyBytes`. */
  passed(bytes: number): void {
    this.since += bytes
    if (this.since < this.everyBytes) return
    this.since = 0
    this.gc?.({type: 'minor'})
  }
}
