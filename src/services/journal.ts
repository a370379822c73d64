import {randomBytes} from 'node:crypto'
import {type FileHandle, mkdir, open, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {UsageError} from '../errors.js'

export interface JournalEvent {
  ts: string
  type: 'begin' | 'step-start' | 'step-end' | 'end' | 'note'
  step?: string
  target?: string
  ok?: boolean
  exitCode?: number | null
  error?: string
  /** Failure class: "connection" (retryable transport) vs "command" (the step itself failed). */
  failure?: 'connection' | 'command'
  data?: Record<string, unknown>
}

/**
 * An append-only JSON-lines journal, fsynced per event, so an interrupted run can be resumed after
 * its last completed step and audited afterwards.
 */
export class Journal {
  private fh: FileHandle | undefined
  private readonly queue: {line: string; resolve: () => void; reject: (e: Error) => void}[] = []
  /** The running write loop, if any: it runs until the queue is empty. */
  private draining: Promise<void> | undefined

  private constructor(
    readonly id: string,
    readonly path: string,
    private readonly events: JournalEvent[],
  ) {}

  static newId(kind: string): string {
    return `${kind}-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'z').toLowerCase()}-${randomBytes(3).toString('hex')}`
  }

  static async create(dir: string, id: string, data: Record<string, unknown>): Promise<Journal> {
    await mkdir(dir, {recursive: true})
    const j = new Journal(id, join(dir, `${id}.jsonl`), [])
    await j.append({type: 'begin', data})
    return j
  }

  static async open(dir: string, id: string): Promise<Journal> {
    if (!/^[\w.-]+$/.test(id)) throw new UsageError(`invalid run id "${id}"`)
    const path = join(dir, `${id}.jsonl`)
    let text: string
    try {
      text = await readFile(path, 'utf8')
    } catch {
      throw new UsageError(`no journal for run "${id}" in ${dir}`, {file: path})
    }
    const events: JournalEvent[] = []
    text.split('\n').forEach((line, i) => {
      if (!line.trim()) return
      try {
        events.push(JSON.parse(line) as JournalEvent)
      } catch {
        // A torn last line from a crash mid-write is expected; anything earlier is corruption.
        if (i < text.split('\n').length - 2) throw new UsageError(`journal ${path}:${i + 1} is not valid JSON`, {file: path, line: i + 1})
      }
    })
    return new Journal(id, path, events)
  }

  get all(): readonly JournalEvent[] {
    return this.events
  }

  get begin(): JournalEvent | undefined {
    return this.events.find((e) => e.type === 'begin')
  }

  get ended(): boolean {
    return this.events.some((e) => e.type === 'end')
  }

  /** Keys "step@target" (or "step") of steps that finished successfully. */
  completed(): Set<string> {
    return new Set(this.events.filter((e) => e.type === 'step-end' && e.ok).map((e) => (e.target ? `${e.step}@${e.target}` : e.step!)))
  }

  /**
   * Appends one event; resolves once it is on disk (fsynced). Events appended while a write is in
   * flight (the targets of one step finishing together) go to disk together with one fsync.
   */
  append(e: Omit<JournalEvent, 'ts'>): Promise<void> {
    const event = {ts: new Date().toISOString(), ...e}
    this.events.push(event)
    return new Promise<void>((resolve, reject) => {
      this.queue.push({line: JSON.stringify(event) + '\n', resolve, reject})
      this.draining ??= this.drain()
    })
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0)
        try {
          this.fh ??= await open(this.path, 'a', 0o600)
          await this.fh.write(batch.map((b) => b.line).join(''))
          await this.fh.sync()
          for (const b of batch) b.resolve()
        } catch (error) {
          for (const b of batch) b.reject(error as Error)
        }
      }
    } finally {
      // Cleared in the same tick the queue is seen empty, so the next append starts a new loop.
      this.draining = undefined
    }
  }

  /** Closes the file once every pending event is written. */
  async close(): Promise<void> {
    await this.draining
    await this.fh?.close()
    this.fh = undefined
  }
}
