import {isMap, isScalar, Pair, Scalar} from 'yaml'
import {UsageError} from '../../errors.js'
import {chainfireEndpoints} from '../../config/context.js'
import {loadConfig, saveConfig} from '../../config/load.js'
import type {Context} from '../../config/schema.js'

export interface ContextRow {
  current: boolean
  name: string
  environment: Context['environment']
  /** Active (not removed) nodes. */
  nodes: number
  endpoints: string[]
}

export interface GetContextsResult {
  path: string
  currentContext: string | null
  contexts: ContextRow[]
}

function endpointsOf(ctx: Context): string[] {
  try {
    return chainfireEndpoints(ctx).map((e) => e.url)
  } catch {
    return [] // a context without ChainFire endpoints is still listed
  }
}

export async function getContexts(opts: {path: string}): Promise<GetContextsResult> {
  const {config, path} = await loadConfig(opts.path)
  const current = config['current-context'] ?? null
  return {
    path,
    currentContext: current,
    contexts: config.contexts.map((ctx) => ({
      current: ctx.name === current,
      name: ctx.name,
      environment: ctx.environment,
      nodes: ctx.nodes.filter((n) => !n.removed).length,
      endpoints: endpointsOf(ctx),
    })),
  }
}

export interface UseContextResult {
  path: string
  previous: string | null
  currentContext: string
  changed: boolean
}

/** Sets current-context in place, so the operator's comments and layout survive the write. */
export async function useContext(opts: {path: string; name: string}): Promise<UseContextResult> {
  const loaded = await loadConfig(opts.path, {document: true})
  const names = loaded.config.contexts.map((c) => c.name)
  if (!names.includes(opts.name)) {
    throw new UsageError(`no context "${opts.name}" in ${loaded.path} (have: ${names.join(', ') || 'none'})`, {
      file: loaded.path,
      hint: 'list contexts with `plasmactl config get-contexts`',
    })
  }
  const previous = loaded.config['current-context'] ?? null
  if (previous === opts.name) return {path: loaded.path, previous, currentContext: opts.name, changed: false}
  const root = loaded.doc.contents
  const existing = loaded.doc.get('current-context', true)
  if (isScalar(existing)) existing.value = opts.name
  else if (isMap(root)) {
    // Put a new key right after apiVersion, where people look for it.
    const at = root.items.findIndex((p) => isScalar(p.key) && p.key.value === 'apiVersion')
    root.items.splice(at + 1, 0, new Pair(new Scalar('current-context'), new Scalar(opts.name)))
  } else loaded.doc.set('current-context', opts.name)
  await saveConfig(loaded)
  return {path: loaded.path, previous, currentContext: opts.name, changed: true}
}
