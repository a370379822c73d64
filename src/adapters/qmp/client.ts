import type {Duplex} from 'node:stream'
import {OperationError} from '../../errors.js'

/**
 * QMP (QEMU Machine Protocol): JSON objects, one per line, over a stream (a unix socket, here
 * usually reached through an SSH stream-local forward). The server greets first; the client must
 * send qmp_capabilities before any other command; asynchronous events may arrive at any time and
 * are skipped. Every step has a deadline: a stopped (SIGSTOP) QEMU accepts the connection but never
 * greets, which is exactly how a hung VM shows itself.
 */

export interface QmpGreeting {
  version?: {qemu?: {major: number; minor: number; micro: number}; package?: string}
  capabilities?: string[]
}

/** What query-status returns. status is e.g. running, paused, internal-error, guest-panicked, shutdown. */
export interface QmpStatus {
  status: string
  running: boolean
  singlestep?: boolean
}

export type QmpFailure = 'timeout' | 'closed' | 'protocol' | 'command'

export class QmpError extends OperationError {
  readonly kind: QmpFailure
  constructor(kind: QmpFailure, message: string, details: Record<string, unknown> = {}) {
    super(message, {...details, qmp: kind})
    this.kind = kind
  }
}

interface Pending {
  resolve: (v: unknown) => void
  reject: (e: Error) => void
  timer: NodeJS.Timeout
}

export class QmpSession {
  private buffer = ''
  private greetingWaiter?: Pending
  private greeting?: QmpGreeting
  private readonly pending = new Map<string, Pending>()
  private nextId = 1
  private closedError?: QmpError
  readonly events: {event: string; data?: unknown}[] = []

  private constructor(
    private readonly stream: Duplex,
    private readonly where: string,
  ) {
    stream.setEncoding?.('utf8')
    stream.on('data', (chunk: string | Buffer) => this.onData(String(chunk)))
    const onEnd = () => this.fail(new QmpError('closed', `QMP ${where}: connection closed by QEMU`, {file: where}))
    stream.on('end', onEnd)
    stream.on('close', onEnd)
    stream.on('error', (err: Error) => this.fail(new QmpError('closed', `QMP ${where}: ${err.message}`, {file: where})))
  }

  /** Connects over STREAM: waits for the greeting, then negotiates capabilities. */
  static async open(stream: Duplex, opts: {timeoutMs: number; where: string}): Promise<QmpSession> {
    const s = new QmpSession(stream, opts.where)
    try {
      s.greeting = await s.waitGreeting(opts.timeoutMs)
      await s.execute('qmp_capabilities', undefined, opts.timeoutMs)
      return s
    } catch (error) {
      s.close()
      throw error
    }
  }

  get version(): string | undefined {
    const q = this.greeting?.version?.qemu
    return q ? `${q.major}.${q.minor}.${q.micro}` : undefined
  }

  private waitGreeting(timeoutMs: number): Promise<QmpGreeting> {
    if (this.closedError) return Promise.reject(this.closedError)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.greetingWaiter = undefined
        reject(
          new QmpError('timeout', `QMP ${this.where}: no greeting within ${timeoutMs} ms (QEMU not answering)`, {
            file: this.where,
          }),
        )
      }, timeoutMs)
      this.greetingWaiter = {resolve: resolve as (v: unknown) => void, reject, timer}
    })
  }

  /** Runs one QMP command and returns its "return" value; a QMP error response throws QmpError('command'). */
  execute<T = unknown>(command: string, args: Record<string, unknown> | undefined, timeoutMs: number): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError)
    const id = `plasmactl-${this.nextId++}`
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(
          new QmpError(
            'timeout',
            `QMP ${this.where}: no answer to ${command} within ${timeoutMs} ms (QEMU not answering)`,
            {file: this.where, command},
          ),
        )
      }, timeoutMs)
      this.pending.set(id, {resolve: resolve as (v: unknown) => void, reject, timer})
      this.stream.write(`${JSON.stringify({execute: command, ...(args ? {arguments: args} : {}), id})}\n`)
    })
  }

  queryStatus(timeoutMs: number): Promise<QmpStatus> {
    return this.execute<QmpStatus>('query-status', undefined, timeoutMs)
  }

  private onData(chunk: string): void {
    this.buffer += chunk
    let nl: number
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim()
      this.buffer = this.buffer.slice(nl + 1)
      if (line) this.onMessage(line)
    }
    // A peer that never sends a newline must not grow memory without bound.
    if (this.buffer.length > 1 << 20)
      this.fail(new QmpError('protocol', `QMP ${this.where}: message too long`, {file: this.where}))
  }

  private onMessage(line: string): void {
    let msg: Record<string, unknown>
    try {
      msg = JSON.parse(line) as Record<string, unknown>
    } catch {
      this.fail(new QmpError('protocol', `QMP ${this.where}: not JSON: ${line.slice(0, 80)}`, {file: this.where}))
      return
    }
    if ('QMP' in msg) {
      const w = this.greetingWaiter
      this.greetingWaiter = undefined
      if (w) {
        clearTimeout(w.timer)
        w.resolve(msg.QMP)
      }
      return
    }
    if ('event' in msg) {
      if (this.events.length < 100) this.events.push({event: String(msg.event), data: msg.data})
      return
    }
    const id = typeof msg.id === 'string' ? msg.id : undefined
    const p = id ? this.pending.get(id) : undefined
    if (!p || !id) return
    this.pending.delete(id)
    clearTimeout(p.timer)
    if ('error' in msg) {
      const e = msg.error as {class?: string; desc?: string}
      p.reject(
        new QmpError('command', `QMP ${this.where}: ${e.class ?? 'Error'}: ${e.desc ?? 'command failed'}`, {
          file: this.where,
        }),
      )
    } else p.resolve(msg.return)
  }

  private fail(err: QmpError): void {
    if (this.closedError) return
    this.closedError = err
    if (this.greetingWaiter) {
      clearTimeout(this.greetingWaiter.timer)
      this.greetingWaiter.reject(err)
      this.greetingWaiter = undefined
    }
    for (const p of this.pending.values()) {
      clearTimeout(p.timer)
      p.reject(err)
    }
    this.pending.clear()
  }

  close(): void {
    this.fail(new QmpError('closed', `QMP ${this.where}: session closed`, {file: this.where}))
    this.stream.end?.()
    this.stream.destroy?.()
  }
}

/** Greeting, capabilities, query-status, close: the whole exchange under one deadline per step. */
export async function qmpQueryStatus(stream: Duplex, opts: {timeoutMs: number; where: string}): Promise<QmpStatus> {
  const s = await QmpSession.open(stream, opts)
  try {
    return await s.queryStatus(opts.timeoutMs)
  } finally {
    s.close()
  }
}
