import {chainfireClientFor} from '../../adapters/chainfire/index.js'
import {prefixEnd, type WatchItem} from '../../adapters/chainfire/client.js'
import type {LoadedConfig} from '../../config/load.js'
import type {Context} from '../../config/schema.js'
import {UsageError} from '../../errors.js'
import type {Reporter} from '../reporter.js'

export interface WatchPrefixOptions {
  loaded: LoadedConfig
  ctx: Context
  reporter: Reporter
  prefix: string
  fromRevision?: number
  signal: AbortSignal
  /** Called for every delivered change, in revision order. */
  onEvent: (e: WatchedChange) => void
  onGap: (g: {fromRevision: number; compactRevision: number}) => void
}

export interface WatchedChange {
  type: 'put' | 'delete'
  key: string
  value: string
  revision: number
  createRevision: number
  version: number
}

export interface WatchSummary {
  prefix: string
  /** The last revision delivered (or confirmed by a progress notification); resume with lastRevision + 1. */
  lastRevision: number | null
  events: number
  reconnects: number
  gaps: {fromRevision: number; compactRevision: number}[]
}

/** Streams every change under PREFIX until the signal aborts; survives member failures (see ChainfireClient.watch). */
export async function watchPrefix(opts: WatchPrefixOptions): Promise<WatchSummary> {
  if (opts.fromRevision !== undefined && (!Number.isInteger(opts.fromRevision) || opts.fromRevision < 1)) {
    throw new UsageError(`--from-revision must be a revision >= 1, not ${opts.fromRevision}`)
  }
  const client = chainfireClientFor(opts.loaded, opts.ctx)
  const key = Buffer.from(opts.prefix)
  const summary: WatchSummary = {
    prefix: opts.prefix,
    lastRevision: opts.fromRevision ? opts.fromRevision - 1 : null,
    events: 0,
    reconnects: 0,
    gaps: [],
  }
  let connectedOnce = false
  try {
    for await (const item of client.watch({
      key,
      rangeEnd: opts.prefix === '' ? Buffer.from([0]) : prefixEnd(key),
      startRevision: opts.fromRevision,
      signal: opts.signal,
    }) as AsyncGenerator<WatchItem>) {
      switch (item.type) {
        case 'connected':
          opts.reporter.info(`watch: connected to ${item.endpoint} (${item.url}) from revision ${item.fromRevision}`)
          if (connectedOnce) summary.reconnects++
          connectedOnce = true
          summary.lastRevision ??= item.fromRevision - 1
          break
        case 'events':
          for (const e of item.events) {
            summary.events++
            opts.onEvent({
              type: e.type,
              key: e.kv.key.toString(),
              value: e.kv.value.toString(),
              revision: e.kv.modRevision,
              createRevision: e.kv.createRevision,
              version: e.kv.version,
            })
          }
          summary.lastRevision = item.revision
          break
        case 'progress':
          summary.lastRevision = item.revision
          break
        case 'gap':
          summary.gaps.push({fromRevision: item.fromRevision, compactRevision: item.compactRevision})
          opts.reporter.warn(
            `watch: revisions ${item.fromRevision}..${item.compactRevision - 1} were compacted: their events are LOST to this watch; continuing from ${item.compactRevision}`,
          )
          opts.onGap(item)
          summary.lastRevision = item.compactRevision - 1
          break
        case 'disconnected':
          opts.reporter.warn(
            `watch: lost ${item.endpoint} (${item.error}); reconnecting in ${item.retryInMs} ms from revision ${(summary.lastRevision ?? 0) + 1}`,
          )
          break
      }
    }
  } finally {
    client.close()
  }
  return summary
}
