import {randomBytes} from 'node:crypto'
import {mkdir, open, readFile} from 'node:fs/promises'
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

  async append(e: Omit<JournalEvent, 'ts'>): Promise<void> {
    const event = {ts: new Date().toISOString(), ...e}
    this.events.push(event)
    const fh = await open(this.path, 'a', 0o600)
    try {
      await fh.write(JSON.stringify(event) + '\n')
      await fh.sync()
    } finally {
      await fh.close()
    }
  }
}
