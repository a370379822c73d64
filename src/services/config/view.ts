import {isScalar, isSeq} from 'yaml'
import {loadConfig, selectContext} from '../../config/load.js'
import type {Config} from '../../config/schema.js'
import {redactDocument, redactSecrets} from './redact.js'

export interface ViewOptions {
  path: string
  /** Only the selected context (--context, else current-context). */
  minify: boolean
  context?: string
}

export interface ViewData {
  path: string
  minified: boolean
  config: Config
}

export interface ViewResult {
  data: ViewData
  /** The file as written (comments kept), secrets redacted: what a human sees. */
  yaml: string
}

export async function viewConfig(opts: ViewOptions): Promise<ViewResult> {
  const loaded = await loadConfig(opts.path, {document: true})
  const doc = loaded.doc.clone()
  let config = loaded.config
  if (opts.minify) {
    const ctx = selectContext(loaded, opts.context)
    const index = loaded.config.contexts.indexOf(ctx)
    const seq = doc.get('contexts', true)
    if (isSeq(seq)) seq.items = seq.items.filter((_, i) => i === index)
    const cur = doc.get('current-context', true)
    if (isScalar(cur)) cur.value = ctx.name
    else doc.set('current-context', ctx.name)
    config = {...config, 'current-context': ctx.name, contexts: [ctx]}
  }
  redactDocument(doc)
  return {
    data: {path: loaded.path, minified: opts.minify, config: redactSecrets(config)},
    yaml: doc.toString({flowCollectionPadding: false}).trimEnd(),
  }
}
