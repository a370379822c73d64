import {isAbsolute, resolve} from 'node:path'
import {UsageError} from '../errors.js'
import {shellQuote} from '../shell-quote.js'
import {didYouMean} from '../suggest.js'
import {parseDuration} from './duration.js'
import {loadConfig, type LoadedConfig, selectContext} from './load.js'
import type {Context, NodeSpec, Role, SshSettings} from './schema.js'

export interface ContextFlags {
  config?: string
  context?: string
}

export interface ResolvedContext {
  loaded: LoadedConfig
  ctx: Context
}

/** Loads the config named by flags/env/defaults and selects the context. */
export async function resolveContext(flags: ContextFlags): Promise<ResolvedContext> {
  const loaded = await loadConfig(flags.config ? resolve(flags.config) : undefined)
  return {loaded, ctx: selectContext(loaded, flags.context)}
}

export const DEFAULT_CLIENT_PORT = 2379
export const DEFAULT_PEER_PORT = 2380

export function activeNodes(ctx: Context): NodeSpec[] {
  return ctx.nodes.filter((n) => !n.removed)
}

export function nodesWithRole(ctx: Context, role: Role): NodeSpec[] {
  return activeNodes(ctx).filter((n) => n.roles.includes(role))
}

export function findNode(ctx: Context, name: string): NodeSpec {
  const node = ctx.nodes.find((n) => n.name === name)
  if (!node)
    throw new UsageError(
      `no node "${name}" in context "${ctx.name}" (have: ${ctx.nodes.map((n) => n.name).join(', ')})${didYouMean(
        name,
        ctx.nodes.map((n) => n.name),
      )}`,
    )
  return node
}

function hostForUrl(address: string): string {
  return address.includes(':') && !address.startsWith('[') ? `[${address}]` : address
}

export function nodeClientUrl(ctx: Context, node: NodeSpec): string {
  const scheme = ctx.chainfire?.tls ? 'https' : 'http'
  return node.chainfire?.['client-url'] ?? `${scheme}://${hostForUrl(node.address)}:${DEFAULT_CLIENT_PORT}`
}

export function nodePeerUrl(ctx: Context, node: NodeSpec): string {
  const scheme = ctx.chainfire?.tls ? 'https' : 'http'
  return node.chainfire?.['peer-url'] ?? `${scheme}://${hostForUrl(node.address)}:${DEFAULT_PEER_PORT}`
}

export interface ChainfireEndpoint {
  /** Node name when the endpoint belongs to a configured node, else the URL. */
  name: string
  url: string
  node?: NodeSpec
}

/** ChainFire client endpoints: explicit list, else every chainfire node's client URL. */
export function chainfireEndpoints(ctx: Context): ChainfireEndpoint[] {
  const nodes = nodesWithRole(ctx, 'chainfire')
  const byUrl = new Map(nodes.map((n) => [nodeClientUrl(ctx, n), n]))
  const urls = ctx.chainfire?.endpoints ?? [...byUrl.keys()]
  if (urls.length === 0) {
    throw new UsageError(`context "${ctx.name}" has no ChainFire endpoints`, {
      hint: 'list chainfire.endpoints or give nodes the role "chainfire"',
    })
  }
  return urls.map((url) => {
    const node = byUrl.get(url)
    return {name: node?.name ?? url, url, node}
  })
}

export interface ChainfireTimeouts {
  dialMs: number
  commandMs: number
}

export function chainfireTimeouts(ctx: Context): ChainfireTimeouts {
  return {
    dialMs: parseDuration(ctx.chainfire?.['dial-timeout'] ?? '2s', 'chainfire.dial-timeout'),
    commandMs: parseDuration(ctx.chainfire?.['command-timeout'] ?? '5s', 'chainfire.command-timeout'),
  }
}

/** SSH settings for a node: node values override context defaults (the SSH config and OpenSSH's defaults come after). */
export function nodeSsh(ctx: Context, node: NodeSpec): SshSettings {
  return {...ctx.ssh, ...node.ssh}
}

export type ServiceVerb = 'start' | 'stop' | 'restart' | 'is-active' | 'kill' | 'enable' | 'disable'

const DEFAULT_SERVICE_COMMAND: Partial<Record<ServiceVerb, string>> = {kill: 'systemctl kill --signal=SIGKILL {unit}'}

/** The command that performs VERB on COMPONENT on NODE (default: systemctl VERB UNIT). */
export function serviceCommand(ctx: Context, node: NodeSpec, component: string, verb: ServiceVerb): string {
  const spec = {...ctx.services?.[component], ...node.services?.[component]}
  const unit = spec.unit ?? component
  const template = spec[verb] ?? DEFAULT_SERVICE_COMMAND[verb] ?? `systemctl ${verb} {unit}`
  // One pass, values shell-quoted: a unit or component name never runs as shell code.
  const cmd = template.replaceAll(/\{(unit|node)\}/g, (_m, k: string) => shellQuote(k === 'unit' ? unit : node.name))
  const sudo = nodeSsh(ctx, node).sudo
  return sudo ? `sudo -n ${cmd}` : cmd
}

/** Resolves a path from the config relative to the config file's directory. */
export function configPath(loaded: LoadedConfig, p: string): string {
  if (isAbsolute(p)) return p
  if (p.startsWith('~/')) return resolve(process.env.HOME ?? '/', p.slice(2))
  return resolve(loaded.path, '..', p)
}
