import {randomBytes} from 'node:crypto'
import {appendFileSync, closeSync, fsyncSync, openSync} from 'node:fs'
import {type FileHandle, mkdir, open, readFile} from 'node:fs/promises'
import {hostname, userInfo} from 'node:os'
import {join} from 'node:path'
import {UsageError} from '../../errors.js'

/** The operator's name: the OS account running plasmactl ($USER can be anything, or unset). */
export function operatorName(): string {
  try {
    return userInfo().username
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`
  }
}

/** Who did it, as journals record it: user@host. */
export function operatorId(): string {
  return `${operatorName()}@${hostname()}`
}

export interface JournalEvent {
  ts: string
  /**
   * begin/end of the run; step-start/step-end of each step (and target); abort: Ctrl-C or a prompt
   * answered with abort (data: by, signal, state); override: a safety check skipped by a named
   * --force (data: check, detail, by); resume: a later attempt took the run over (data: by).
   */
  type: 'begin' | 'step-start' | 'step-end' | 'end' | 'note' | 'abort' | 'override' | 'resume'
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
    return `${kind}-${new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'z')
      .toLowerCase()}-${randomBytes(3).toString('hex')}`
  }

  /** Starts a run's journal; the begin event records who started it (by: user@host) unless DATA says. */
  static async create(dir: string, id: string, data: Record<string, unknown>): Promise<Journal> {
    await mkdir(dir, {recursive: true})
    const j = new Journal(id, join(dir, `${id}.jsonl`), [])
    await j.append({type: 'begin', data: {by: operatorId(), ...data}})
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
        if (i < text.split('\n').length - 2)
          throw new UsageError(`journal ${path}:${i + 1} is not valid JSON`, {file: path, line: i + 1})
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
    return new Set(
      this.events
        .filter((e) => e.type === 'step-end' && e.ok)
        .map((e) => (e.target ? `${e.step}@${e.target}` : e.step!)),
    )
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

  /** Records a safety check skipped by a named --force CHECK: who, when, what it would have refused. */
  override(check: string, detail: string, step?: string): Promise<void> {
    return this.append({type: 'override', step, data: {check, detail, by: operatorId()}})
  }

  /**
   * Appends one event synchronously (a signal handler's last word: the process may end before an
   * async write lands). Safe next to the async writer: both append whole lines in O_APPEND mode.
   */
  appendSync(e: Omit<JournalEvent, 'ts'>): void {
    const event = {ts: new Date().toISOString(), ...e}
    this.events.push(event)
    const fd = openSync(this.path, 'a', 0o600)
    try {
      appendFileSync(fd, JSON.stringify(event) + '\n')
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
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
