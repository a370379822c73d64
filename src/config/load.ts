import {createHash} from 'node:crypto'
import {readFile, rm} from 'node:fs/promises'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import type {Document} from 'yaml'
import {writeFileAtomic} from '../core/fs.js'
import {UsageError} from '../errors.js'
import {defaultConfigPath, stateDir} from './paths.js'
import {containsSecrets} from './secrets.js'
import type {Config, Context} from './schema.js'

export type {ConfigValidationError, ValidationProblem} from './validate.js'

export interface LoadedConfig {
  path: string
  config: Config
  /** The parsed document, kept so that writes preserve the operator's comments and layout (load with {document: true}). */
  doc: Document
  exists: boolean
}

const SCHEMA_FILE = fileURLToPath(new URL('../../schemas/config.schema.json', import.meta.url))

/**
 * Validation results are cached by content: the key hashes the file's text and the JSON Schema
 * generated from the zod schema, so any change to either validates afresh. A hit skips loading the
 * YAML parser and zod, which dominate start-up of read-only commands.
 */
async function cachePath(text: string): Promise<string | undefined> {
  const schema = await readFile(SCHEMA_FILE).catch(() => undefined)
  if (!schema) return undefined
  const key = createHash('sha256').update(schema).update('\0').update(text).digest('hex')
  return join(stateDir(), 'cache', `config-${key.slice(0, 32)}.json`)
}

function withoutDocument(path: string, config: Config): LoadedConfig {
  return {
    path,
    config,
    exists: true,
    get doc(): Document {
      throw new Error('internal: config loaded without its document; pass {document: true} to loadConfig')
    },
  }
}

export async function loadConfig(
  path = defaultConfigPath(),
  {allowMissing = false, document = false} = {},
): Promise<LoadedConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && allowMissing) {
      const {Document} = await import('yaml')
      const doc = new Document({apiVersion: 'plasmactl/v1', contexts: []})
      return {path, config: {apiVersion: 'plasmactl/v1', contexts: []}, doc, exists: false}
    }
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UsageError(`config file ${path} does not exist`, {
        file: path,
        hint: 'create one with `plasmactl config init`, start a local lab with `plasmactl lab up`, or pass --config',
      })
    }
    throw new UsageError(`cannot read config file ${path}: ${(error as Error).message}`, {file: path})
  }
  const cache = document ? undefined : await cachePath(text)
  if (cache) {
    const hit = await readFile(cache, 'utf8').catch(() => undefined)
    if (hit) {
      const config = JSON.parse(hit) as Config
      if (!containsSecrets(config)) return withoutDocument(path, config)
      // Written before configs with secrets stopped being cached: remove it.
      await rm(cache, {force: true})
    }
  }
  const {validateConfigText} = await import('./validate.js')
  const {config, doc} = validateConfigText(text, path)
  // A config holding a secret (S3 secret key, IAM token, URL password) is never cached: the cache
  // would keep it in clear in the state directory. Such configs are validated on every load.
  if (cache && !containsSecrets(config)) await writeFileAtomic(cache, JSON.stringify(config)).catch(() => undefined)
  return {path, config, doc, exists: true}
}

/** Picks the context: --context / PLASMACTL_CONTEXT, else current-context. */
export function selectContext(loaded: LoadedConfig, name?: string): Context {
  const want = name || process.env.PLASMACTL_CONTEXT || loaded.config['current-context']
  if (!want) {
    throw new UsageError(`no context selected in ${loaded.path}`, {
      file: loaded.path,
      hint: 'pass --context NAME or run `plasmactl config use-context NAME`',
    })
  }
  const ctx = loaded.config.contexts.find((c) => c.name === want)
  if (!ctx) {
    throw new UsageError(
      `context "${want}" not found in ${loaded.path} (have: ${loaded.config.contexts.map((c) => c.name).join(', ') || 'none'})`,
      {
        file: loaded.path,
      },
    )
  }
  return ctx
}

/** Validates the edited document before saving, so a write never leaves an invalid config behind. */
export async function saveConfig(loaded: LoadedConfig): Promise<void> {
  // No padding inside flow collections: keeps `roles: [chainfire]` as the operator wrote it.
  const text = loaded.doc.toString({flowCollectionPadding: false})
  const {validateConfigText} = await import('./validate.js')
  validateConfigText(text, loaded.path)
  await writeFileAtomic(loaded.path, text)
}

/** Sets current-context; a new key goes before `contexts`, where `config init` and the operator put it. */
function setCurrentContext(doc: Document, name: string): void {
  const map = doc.contents as {items?: {key?: unknown}[]} | null
  if (doc.has('current-context') || !Array.isArray(map?.items)) return void doc.set('current-context', name)
  const items = map.items
  const at = items.findIndex((p) => (p.key as {value?: unknown} | undefined)?.value === 'contexts')
  items.splice(at === -1 ? items.length : at, 0, doc.createPair('current-context', name))
}

/** Replaces or appends a context by name, and optionally makes it current. */
export function upsertContext(loaded: LoadedConfig, ctx: Context, makeCurrent: boolean): void {
  const doc = loaded.doc
  const contexts = (doc.get('contexts') as {items?: unknown[]} | undefined)?.items ?? []
  const idx = loaded.config.contexts.findIndex((c) => c.name === ctx.name)
  const node = doc.createNode(ctx)
  const seq = doc.get('contexts', true) as {flow?: boolean} | undefined
  // An emptied list is written as `contexts: []` (flow): the first context back makes it a block list again.
  if (seq && typeof seq === 'object' && contexts.length === 0) seq.flow = false
  if (idx >= 0) doc.setIn(['contexts', idx], node)
  else if (contexts.length > 0 || doc.has('contexts')) doc.addIn(['contexts'], node)
  else doc.set('contexts', doc.createNode([ctx]))
  if (makeCurrent) setCurrentContext(doc, ctx.name)
  if (!doc.has('apiVersion')) doc.set('apiVersion', 'plasmactl/v1')
  const contextsNew = loaded.config.contexts.filter((c) => c.name !== ctx.name)
  loaded.config = {
    ...loaded.config,
    contexts: idx >= 0 ? loaded.config.contexts.map((c, i) => (i === idx ? ctx : c)) : [...contextsNew, ctx],
  }
  if (makeCurrent) loaded.config['current-context'] = ctx.name
}
