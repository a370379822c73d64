/**
 * Linearizability of a register history: Wing & Gong's search with Lowe's memoization (as in
 * Knossos' "linear" checker and porcupine). Operations are lifted out of a linked list of call and
 * return events in the order they linearize; a cache of (set of linearized operations, state)
 * prunes every configuration already explored. Histories of several keys are checked key by key
 * (P-compositionality: a history is linearizable iff each key's sub-history is).
 */

/** A register operation as a client saw it. `value: null` is "the key does not exist". */
export type RegisterInput = {op: 'read'} | {op: 'write'; value: string} | {op: 'cas'; from: string; to: string}

export type RegisterOutput =
  /** A read's answer; for cas: whether it applied. */
  | {ok: true; value?: string | null; applied?: boolean}
  /** No answer (timeout, crash): the operation may have taken effect at any point after its call, or never. */
  | {indeterminate: true}

export interface HistoryOperation {
  key?: string
  client: number
  input: RegisterInput
  output: RegisterOutput
  /** Invocation and completion times (any monotonic unit); `complete` is ignored when indeterminate. */
  call: number
  complete: number
}

export interface CheckResult {
  linearizable: boolean
  /** The keys whose sub-history is not linearizable. */
  failedKeys: string[]
  /** Configurations explored (a measure of the work done). */
  explored: number
}

type State = string | null

function step(state: State, input: RegisterInput, output: RegisterOutput): {ok: boolean; next: State} {
  const unknown = 'indeterminate' in output
  switch (input.op) {
    case 'read':
      return {ok: unknown || output.value === state, next: state}
    case 'write':
      return {ok: true, next: input.value}
    case 'cas': {
      const applies = input.from === state
      if (unknown) return {ok: true, next: applies ? input.to : state}
      return {ok: applies === Boolean(output.applied), next: applies ? input.to : state}
    }
  }
}

interface Entry {
  id: number
  isCall: boolean
  time: number
  op: HistoryOperation
  match?: Entry
  prev?: Entry
  next?: Entry
}

/** Builds the doubly linked event list; returns come before calls at equal times (they happened-before). */
function buildList(ops: HistoryOperation[]): Entry {
  const horizon =
    Math.max(0, ...ops.map((o) => Math.max(o.call, 'indeterminate' in o.output ? o.call : o.complete))) + 1
  const events: Entry[] = []
  ops.forEach((op, id) => {
    const call: Entry = {id, isCall: true, time: op.call, op}
    // An indeterminate operation returns after everything else: it may linearize anywhere after its call.
    const ret: Entry = {id, isCall: false, time: 'indeterminate' in op.output ? horizon : op.complete, op}
    call.match = ret
    events.push(call, ret)
  })
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.id - b.id : a.isCall ? 1 : -1))
  const head: Entry = {id: -1, isCall: false, time: -Infinity, op: ops[0]}
  let prev = head
  for (const e of events) {
    prev.next = e
    e.prev = prev
    prev = e
  }
  return head
}

function lift(e: Entry): void {
  e.prev!.next = e.next
  if (e.next) e.next.prev = e.prev
  const m = e.match!
  m.prev!.next = m.next
  if (m.next) m.next.prev = m.prev
}

function unlift(e: Entry): void {
  const m = e.match!
  m.prev!.next = m
  if (m.next) m.next.prev = m
  e.prev!.next = e
  if (e.next) e.next.prev = e
}

/** A growable bitset whose key string identifies the set (for the memo cache). */
class Bits {
  readonly words: Uint32Array
  constructor(n: number) {
    this.words = new Uint32Array(Math.ceil(n / 32) || 1)
  }
  set(i: number): void {
    this.words[i >>> 5] |= 1 << (i & 31)
  }
  clear(i: number): void {
    this.words[i >>> 5] &= ~(1 << (i & 31))
  }
  key(state: State): string {
    return `${Buffer.from(this.words.buffer).toString('latin1')}\0${state === null ? '\u0001' : state}`
  }
}

function checkKey(ops: HistoryOperation[]): {ok: boolean; explored: number} {
  if (ops.length === 0) return {ok: true, explored: 0}
  const head = buildList(ops)
  const linearized = new Bits(ops.length)
  const cache = new Set<string>()
  const stack: {entry: Entry; state: State}[] = []
  let state: State = null
  let entry = head.next
  let explored = 0
  while (head.next) {
    if (!entry) return {ok: false, explored}
    if (entry.isCall) {
      const {ok, next} = step(state, entry.op.input, entry.op.output)
      if (ok) {
        linearized.set(entry.id)
        const key = linearized.key(next)
        if (!cache.has(key)) {
          cache.add(key)
          explored++
          stack.push({entry, state})
          state = next
          lift(entry)
          entry = head.next
          continue
        }
        linearized.clear(entry.id)
      }
      entry = entry.next
    } else {
      // A return reached with its call not yet linearized: undo the last choice and try the next.
      const top = stack.pop()
      if (!top) return {ok: false, explored}
      state = top.state
      linearized.clear(top.entry.id)
      unlift(top.entry)
      entry = top.entry.next
    }
  }
  return {ok: true, explored}
}

/** Checks a register history (all keys); operations of a failed read may be left out by the caller. */
export function checkLinearizable(history: HistoryOperation[]): CheckResult {
  const byKey = new Map<string, HistoryOperation[]>()
  for (const op of history) {
    const k = op.key ?? ''
    let list = byKey.get(k)
    if (!list) byKey.set(k, (list = []))
    list.push(op)
  }
  const failedKeys: string[] = []
  let explored = 0
  for (const [key, ops] of byKey) {
    const r = checkKey(ops)
    explored += r.explored
    if (!r.ok) failedKeys.push(key)
  }
  return {linearizable: failedKeys.length === 0, failedKeys, explored}
}

/**
 * Parses a Jepsen etcd register log (`INFO jepsen.util - P\t:invoke\t:read\tnil` …): reads, writes
 * and compare-and-sets of one register. `:info` ends an operation indeterminate; a failed read
 * constrains nothing and is dropped; other lines are ignored.
 */
export function parseJepsenRegisterLog(text: string): HistoryOperation[] {
  const open = new Map<number, {input: RegisterInput; call: number}>()
  const ops: HistoryOperation[] = []
  let t = 0
  for (const line of text.split('\n')) {
    const m = /jepsen\.util\s+-\s+(\d+)\s+:(invoke|ok|fail|info)\s+:(read|write|cas)\s*(.*?)\s*$/.exec(line)
    if (!m) continue
    t++
    const [, procText, kind, f, arg] = m
    const client = Number(procText)
    if (kind === 'invoke') {
      const cas = /^\[(\S+)\s+(\S+)\]$/.exec(arg)
      const input: RegisterInput =
        f === 'read'
          ? {op: 'read'}
          : f === 'write'
            ? {op: 'write', value: arg}
            : {op: 'cas', from: cas?.[1] ?? '', to: cas?.[2] ?? ''}
      open.set(client, {input, call: t})
      continue
    }
    const inv = open.get(client)
    if (!inv) continue
    open.delete(client)
    if (kind === 'info')
      ops.push({client, input: inv.input, output: {indeterminate: true}, call: inv.call, complete: t})
    else if (kind === 'fail' && inv.input.op === 'read') continue
    else if (inv.input.op === 'read')
      ops.push({
        client,
        input: inv.input,
        output: {ok: true, value: arg === 'nil' ? null : arg},
        call: inv.call,
        complete: t,
      })
    else if (inv.input.op === 'cas')
      ops.push({client, input: inv.input, output: {ok: true, applied: kind === 'ok'}, call: inv.call, complete: t})
    else if (kind === 'ok') ops.push({client, input: inv.input, output: {ok: true}, call: inv.call, complete: t})
    else ops.push({client, input: inv.input, output: {indeterminate: true}, call: inv.call, complete: t})
  }
  // Invoked and never answered: indeterminate.
  for (const [client, inv] of open)
    ops.push({client, input: inv.input, output: {indeterminate: true}, call: inv.call, complete: t + 1})
  return ops
}
