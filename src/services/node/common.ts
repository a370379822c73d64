import {join} from 'node:path'
import {chainfireClientFor, type ChainfireClient, type Member} from '../../adapters/chainfire/index.js'
import {nodeClientUrl, nodePeerUrl} from '../../config/context.js'
import {loadConfig, type LoadedConfig, saveConfig} from '../../config/load.js'
import {stateDir} from '../../config/paths.js'
import type {Context, NodeSpec} from '../../config/schema.js'
import {OperationError, UsageError} from '../../errors.js'
import {clusterStateText} from '../../runbook/cluster.js'
import {checkChainfire, type ChainfireHealth} from '../health/probes/chainfire.js'
import {acquireClusterLock, CLUSTER_LOCK_KEY, type HeldLock, type LockHolder, readLockHolder} from '../lock.js'
import type {Reporter} from '../reporter.js'
import {Journal} from '../../core/engine/journal.js'
import type {CheckFinding} from './preflight.js'

export function nodeRunsDir(): string {
  return join(stateDir(), 'node-runs')
}

/** Starts the journal of a new node run: its begin event, every overridden check, then the run id said first. */
export async function beginNodeRun(
  runId: string,
  begin: Record<string, unknown>,
  checks: readonly CheckFinding[],
  reporter: Reporter,
): Promise<Journal> {
  const journal = await Journal.create(nodeRunsDir(), runId, {kind: 'node', ...begin})
  for (const c of checks.filter((x) => x.overridden)) await journal.override(c.id, c.message)
  reporter.info(`run ${runId} (resume with: plasmactl node resume ${runId})`)
  return journal
}

/** The member that is this node: by name, else by peer URL. */
export function memberOfNode(ctx: Context, node: NodeSpec, members: Member[]): Member | undefined {
  const peer = nodePeerUrl(ctx, node).replace(/\/+$/, '')
  return (
    members.find((m) => m.name === node.name) ??
    members.find((m) => m.peerURLs.some((u) => u.replace(/\/+$/, '') === peer))
  )
}

/** The context as it is without NODE: its endpoint is left out of ChainFire calls. */
export function contextWithout(ctx: Context, node: NodeSpec): Context {
  const url = nodeClientUrl(ctx, node)
  return {
    ...ctx,
    nodes: ctx.nodes.map((n) => (n.name === node.name ? {...n, removed: true} : n)),
    chainfire: ctx.chainfire
      ? {...ctx.chainfire, endpoints: ctx.chainfire.endpoints?.filter((u) => u !== url)}
      : undefined,
  }
}

/** The context with NODE counted in (a node being added is active). */
export function contextWith(ctx: Context, node: NodeSpec): Context {
  const has = ctx.nodes.some((n) => n.name === node.name)
  return {
    ...ctx,
    nodes: has
      ? ctx.nodes.map((n) => (n.name === node.name ? {...node, removed: undefined} : n))
      : [...ctx.nodes, node],
  }
}

export function readClusterLock(client: ChainfireClient): Promise<Partial<LockHolder> | null> {
  return readLockHolder(client, CLUSTER_LOCK_KEY)
}

/** Takes the cluster lock for run RUN_ID (a resumed run takes over the lock its dead runner left). */
export function takeClusterLock(
  client: ChainfireClient,
  ctx: Context,
  runId: string,
  purpose: string,
  reporter: Reporter,
): Promise<HeldLock> {
  return acquireClusterLock(ctx, {kind: 'node', purpose, runId, client, reporter, resume: true})
}

/** Polls the cluster until COND holds; throws with the last state after waitMs. */
export async function waitForCluster(
  client: ChainfireClient,
  ctx: Context,
  probeMs: number,
  waitMs: number,
  what: string,
  cond: (h: ChainfireHealth) => string | null,
): Promise<ChainfireHealth> {
  const deadline = Date.now() + waitMs
  for (;;) {
    const {details} = await checkChainfire(client, ctx, probeMs)
    const why = cond(details)
    if (why === null) return details
    if (Date.now() > deadline)
      throw new OperationError(`${what} not reached within ${Math.round(waitMs / 1000)}s: ${why}`, {
        hint: 'run `plasmactl health`; then resume the run',
      })
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** The current leader's endpoint (membership changes go there), or undefined without a leader. */
export async function leaderEndpoint(
  client: ChainfireClient,
  ctx: Context,
  probeMs: number,
): Promise<{name: string; url: string} | undefined> {
  const {details} = await checkChainfire(client, ctx, probeMs)
  const l = details.members.find((m) => m.leader && m.endpoint)
  return l ? {name: l.name, url: l.endpoint!} : undefined
}

export function clientFor(loaded: LoadedConfig, ctx: Context): ChainfireClient {
  return chainfireClientFor(loaded, ctx)
}

/** Sets (or clears) `removed: true` on a node in the config file, editing the document to keep comments. */
/** The config file's document, read afresh (commands load the config without it, for speed). */
async function documentOf(loaded: LoadedConfig) {
  return (await loadConfig(loaded.path, {document: true})).doc
}

export async function setNodeRemoved(
  loaded: LoadedConfig,
  ctxName: string,
  nodeName: string,
  removed: boolean,
): Promise<void> {
  const doc = await documentOf(loaded)
  const ci = loaded.config.contexts.findIndex((c) => c.name === ctxName)
  const ni = loaded.config.contexts[ci]?.nodes.findIndex((n) => n.name === nodeName) ?? -1
  if (ci < 0 || ni < 0) throw new UsageError(`node ${nodeName} is not in context ${ctxName} of ${loaded.path}`)
  if (removed) doc.setIn(['contexts', ci, 'nodes', ni, 'removed'], true)
  else doc.deleteIn(['contexts', ci, 'nodes', ni, 'removed'])
  const node = loaded.config.contexts[ci].nodes[ni]
  // An explicit endpoint list must not keep sending calls to a removed member.
  const endpoints = loaded.config.contexts[ci].chainfire?.endpoints
  const url = nodeClientUrl(loaded.config.contexts[ci], node)
  const at = removed ? (endpoints?.indexOf(url) ?? -1) : -1
  if (at >= 0) {
    doc.deleteIn(['contexts', ci, 'chainfire', 'endpoints', at])
    endpoints!.splice(at, 1)
  } else if (!removed && endpoints && !endpoints.includes(url)) {
    // A node added back joins an explicit endpoint list again.
    doc.addIn(['contexts', ci, 'chainfire', 'endpoints'], url)
    endpoints.push(url)
  }
  if (removed) node.removed = true
  else delete node.removed
  await saveConfig({path: loaded.path, config: loaded.config, exists: loaded.exists, doc})
}

/** Appends a node to a context in the config file (keeps comments). */
export async function addNodeToConfig(loaded: LoadedConfig, ctxName: string, node: NodeSpec): Promise<void> {
  const doc = await documentOf(loaded)
  const ci = loaded.config.contexts.findIndex((c) => c.name === ctxName)
  if (ci < 0) throw new UsageError(`no context ${ctxName} in ${loaded.path}`)
  if (doc.hasIn(['contexts', ci, 'nodes'])) doc.addIn(['contexts', ci, 'nodes'], doc.createNode(node))
  else doc.setIn(['contexts', ci, 'nodes'], doc.createNode([node]))
  loaded.config.contexts[ci].nodes.push(node)
  await saveConfig({path: loaded.path, config: loaded.config, exists: loaded.exists, doc})
}

export {type StepDef, StepRunner} from '../../core/engine/steps.js'

/** The live state an abort message names: who is down, the failure tolerance left. */
export async function clusterState(client: ChainfireClient, ctx: Context): Promise<string> {
  return clusterStateText((await checkChainfire(client, ctx, 1500)).details)
}
