import {readdir} from 'node:fs/promises'
import {join, resolve} from 'node:path'
import {loadConfig, type LoadedConfig, saveConfig, upsertContext} from '../../config/load.js'
import {defaultConfigPath} from '../../config/paths.js'
import type {Context, Role} from '../../config/schema.js'
import {UsageError} from '../../errors.js'
import type {Reporter} from '../reporter.js'
import {labPaths, nodePaths, serviceTemplate} from './layout.js'
import {readLabState, type LabState} from './state.js'

export function resolveConfigPath(flag?: string): string {
  return flag ? resolve(flag) : defaultConfigPath()
}

/** The lab's default snapshot target: DIR/snapshots. */
export function labSnapshotTarget(dir: string): string {
  return `file://${join(resolve(dir), 'snapshots')}`
}

/**
 * The lab's first snapshot, so that `health` reports a backup age from the start. Only when the
 * context still uses the lab's own target and it holds nothing yet; a failure is a warning, never
 * a failed `lab up`.
 */
export async function takeFirstSnapshot(
  configPath: string,
  state: LabState,
  reporter: Reporter,
): Promise<string | undefined> {
  const target = labSnapshotTarget(state.dir)
  try {
    const loaded = await loadConfig(configPath)
    const ctx = loaded.config.contexts.find((c) => c.name === state.contextName)
    if (!ctx?.snapshots?.targets?.includes(target)) return undefined
    if ((await readdir(join(state.dir, 'snapshots')).catch(() => [])).length > 0) return undefined
    const {runSave} = await import('../snapshot/index.js')
    const r = await runSave({loaded, ctx, reporter, version: 'lab up', targets: [target], timeoutMs: 30_000})
    if (r.ok) reporter.info(`lab: first snapshot ${r.name} in ${target}`)
    else
      reporter.warn(
        `lab: the first snapshot failed: ${r.targets
          .map((t: {error?: string}) => t.error)
          .filter(Boolean)
          .join('; ')}`,
      )
    return r.ok ? r.name : undefined
  } catch (error) {
    reporter.warn(`lab: the first snapshot failed: ${(error as Error).message}`)
    return undefined
  }
}

/** The context `lab up` writes: every plasmactl command works against the lab through it. */
export function buildLabContext(
  state: LabState,
  extra: {sections?: Partial<Context>; roles?: Record<string, Role[]>} = {},
): Context {
  const paths = labPaths(state.dir)
  const {services: extraServices, ...extraSections} = extra.sections ?? {}
  return {
    name: state.contextName,
    environment: 'lab',
    description: `local lab in ${state.dir} (plasmactl lab up)`,
    // The lab is self-contained: the operator's ~/.ssh/config (a `Host *` ProxyJump, say) does not apply.
    ssh: {
      user: state.user,
      port: state.nodes[0]?.sshPort ?? 2222,
      'identity-file': paths.identity,
      'known-hosts': paths.knownHosts,
      'connect-timeout': '5s',
      'config-file': 'none',
    },
    nodes: [
      ...state.nodes.map((n): Context['nodes'][number] => ({
        name: n.name,
        address: n.address,
        roles: ['chainfire', ...(extra.roles?.[n.name] ?? [])],
        chainfire: {
          'client-url': n.clientUrl,
          'peer-url': n.peerUrl,
          'data-dir': n.dataDir,
          'env-file': nodePaths(state.dir, n.name).env,
        },
      })),
      // Extra hosts (lab up --hosts N): hypervisors only, reached by SSH like any node.
      ...(state.hosts ?? []).map((h): Context['nodes'][number] => ({
        name: h.name,
        address: h.address,
        roles: ['plasmavmc-host', ...(extra.roles?.[h.name] ?? []).filter((r) => r !== 'plasmavmc-host')],
      })),
    ],
    ...(state.tls ? {chainfire: {tls: {ca: paths.ca, cert: paths.clientCert, key: paths.clientKey}}} : {}),
    services: {
      chainfire: {
        start: serviceTemplate(state.dir, 'start'),
        stop: serviceTemplate(state.dir, 'stop'),
        restart: serviceTemplate(state.dir, 'restart'),
        'is-active': serviceTemplate(state.dir, 'is-active'),
        kill: serviceTemplate(state.dir, 'kill'),
        enable: serviceTemplate(state.dir, 'enable'),
        disable: serviceTemplate(state.dir, 'disable'),
        logs: serviceTemplate(state.dir, 'logs'),
      },
      ...extraServices,
    },
    // Backups out of the box: a file target in the lab dir (gone with `lab down --purge`), so health shows backup age.
    snapshots: {targets: [labSnapshotTarget(state.dir)]},
    ...extraSections,
    lab: {dir: state.dir},
  }
}

/**
 * Refuses to overwrite a context that is not a lab, or that belongs to another lab that still
 * exists. Called before anything starts, and again when writing.
 */
export async function assertLabContextWritable(configPath: string, state: LabState): Promise<LoadedConfig> {
  const loaded = await loadConfig(configPath, {allowMissing: true, document: true})
  const existing = loaded.config.contexts.find((c) => c.name === state.contextName)
  if (existing && existing.environment !== 'lab') {
    throw new UsageError(
      `context "${state.contextName}" in ${configPath} is a ${existing.environment} context, not a lab; refusing to overwrite it`,
      {
        file: configPath,
        hint: 'pass --context-name to name the lab context differently',
      },
    )
  }
  const otherDir = existing?.lab?.dir
  if (otherDir && resolve(otherDir) !== state.dir && (await readLabState(otherDir).catch(() => undefined))) {
    throw new UsageError(`context "${state.contextName}" belongs to the lab in ${otherDir}, which still exists`, {
      file: configPath,
      hint: `pass --context-name, or remove that lab first: plasmactl lab down --purge --dir ${otherDir}`,
    })
  }
  return loaded
}

/** Writes the lab context and makes it current. */
export async function writeLabContext(
  configPath: string,
  state: LabState,
  extra?: Parameters<typeof buildLabContext>[1],
): Promise<void> {
  const loaded = await assertLabContextWritable(configPath, state)
  const ctx = buildLabContext(state, extra)
  // Node removal marks nodes removed in the context; rewriting the context keeps that record.
  const before = loaded.config.contexts.find((c) => c.name === state.contextName)
  for (const n of ctx.nodes) if (before?.nodes.find((b) => b.name === n.name)?.removed) n.removed = true
  if (before) keepOperatorEdits(ctx, before)
  upsertContext(loaded, ctx, true)
  await saveConfig(loaded)
}

/** Removes every context that points at the lab in DIR; returns their names. */
export async function removeLabContexts(configPath: string, dir: string): Promise<string[]> {
  const loaded = await loadConfig(configPath, {allowMissing: true, document: true})
  if (!loaded.exists) return []
  const names = loaded.config.contexts
    .filter((c) => c.lab?.dir && resolve(c.lab.dir) === resolve(dir))
    .map((c) => c.name)
  if (names.length === 0) return []
  // Delete from the end so earlier indexes stay valid; edit the document to keep comments.
  const indexes = loaded.config.contexts.flatMap((c, i) => (names.includes(c.name) ? [i] : [])).reverse()
  for (const i of indexes) loaded.doc.deleteIn(['contexts', i])
  const current = loaded.config['current-context']
  if (current && names.includes(current)) loaded.doc.delete('current-context')
  loaded.config = {...loaded.config, contexts: loaded.config.contexts.filter((c) => !names.includes(c.name))}
  await saveConfig(loaded)
  return names
}

/**
 * What the context had that this write does not produce stays: component roles of the nodes
 * (plasmavmc-host, flaredb… written by `lab up --with`), sections (flaredb, iam, prismnet,
 * plasmavmc, snapshots: the lab's components or the operator's own edits) and service commands.
 */
function keepOperatorEdits(ctx: Context, before: Context): void {
  for (const n of ctx.nodes) {
    const b = before.nodes.find((x) => x.name === n.name)
    if (b) n.roles = [...new Set([...n.roles, ...b.roles])]
  }
  // The operator's snapshot settings (other targets, retention) win over the lab's default target.
  if (before.snapshots) ctx.snapshots = before.snapshots
  const out = ctx as Record<string, unknown>
  for (const [k, v] of Object.entries(before)) if (out[k] === undefined) out[k] = v
  ctx.services = {...before.services, ...ctx.services}
}
