import {access, rm} from 'node:fs/promises'
import {UsageError} from '../../errors.js'
import type {Reporter} from '../reporter.js'
import {removeLabContexts, resolveConfigPath} from './lab-context.js'
import {loadLabComponents, type LabComponentProcess} from './components/index.js'
import {labPaths} from './layout.js'
import {stopMemberLocally} from './member.js'
import {resolveLabDir} from './resolve-dir.js'
import {stopSshd} from './sshd.js'
import {stopHosts} from './hosts.js'
import {readLabState} from './state.js'

export interface LabDownOptions {
  dir?: string
  context?: string
  configPath?: string
  /** Also delete the lab directory and every context pointing at it. */
  purge?: boolean
}

export interface LabDownResult {
  dir: string
  /** False when there was no lab in dir (nothing to stop). */
  found: boolean
  nodes: {name: string; member: 'not-running' | 'stopped'; sshd: 'not-running' | 'stopped' | 'killed'}[]
  /** Extra hosts (lab up --hosts N): their sshd. */
  hosts: {name: string; sshd: 'not-running' | 'stopped' | 'killed'}[]
  purged: boolean
  removedContexts: string[]
  /** Processes of the optional components that were stopped. */
  components: LabComponentProcess[]
}

/** Stops the processes the lab started (by their pid files), members first; --purge removes everything. */
export async function labDown(opts: LabDownOptions, reporter: Reporter): Promise<LabDownResult> {
  const dir = await resolveLabDir({
    dir: opts.dir,
    context: opts.context,
    configPath: resolveConfigPath(opts.configPath),
  })
  const state = await readLabState(dir)
  const dirExists = await access(dir).then(
    () => true,
    () => false,
  )
  if (!state && dirExists) {
    throw new UsageError(`${dir} is not a plasmactl lab (no lab.json); refusing to touch it`, {file: dir})
  }
  const nodes: LabDownResult['nodes'] = []
  const hosts: LabDownResult['hosts'] = []
  const components: LabComponentProcess[] = []
  if (state) {
    // Components first (FlareDB stores write into ChainFire), in reverse order of start.
    for (const c of (await loadLabComponents(state.components ?? [])).reverse())
      components.push(...(await c.down(state)))
    // One at a time: members stopped together each wait seconds for a leadership transfer to a
    // peer that is going away too; one by one, each stop takes a fraction of a second.
    const members: Awaited<ReturnType<typeof stopMemberLocally>>[] = []
    for (const n of state.nodes) members.push(await stopMemberLocally(state, n.name))
    const sshds = await Promise.all(state.nodes.map((n) => stopSshd(dir, n.name)))
    state.nodes.forEach((n, i) => nodes.push({name: n.name, member: members[i], sshd: sshds[i]}))
    const hostSshds = await stopHosts(dir, state.hosts ?? [])
    for (const [i, h] of (state.hosts ?? []).entries()) hosts.push({name: h.name, sshd: hostSshds[i]})
    const stopped = members.filter((m) => m === 'stopped').length
    reporter.info(
      `lab: stopped ${stopped} ChainFire member${stopped === 1 ? '' : 's'} and ${[...sshds, ...hostSshds].filter((s) => s !== 'not-running').length} sshd`,
    )
  }
  let removedContexts: string[] = []
  if (opts.purge) {
    const configs = new Set([resolveConfigPath(opts.configPath), ...(state ? [state.configPath] : [])])
    for (const c of configs) removedContexts.push(...(await removeLabContexts(c, dir)))
    removedContexts = [...new Set(removedContexts)]
    if (state) await rm(labPaths(dir).dir, {recursive: true, force: true})
    reporter.info(
      `lab: removed ${dir}${removedContexts.length > 0 ? ` and context ${removedContexts.join(', ')}` : ''}`,
    )
  }
  return {dir, found: Boolean(state), nodes, hosts, purged: Boolean(opts.purge && state), removedContexts, components}
}
