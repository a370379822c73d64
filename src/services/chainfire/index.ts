import {chainfireClientFor, type ChainfireClient} from '../../adapters/chainfire/index.js'
import type {LoadedConfig} from '../../config/load.js'
import type {Context} from '../../config/schema.js'
import {OperationError, RefusedError, UsageError} from '../../errors.js'
import {type ChainfireHealth, checkChainfire, type MemberHealth} from '../health/probes/chainfire.js'
import {withClusterLock} from '../lock.js'
import type {Reporter} from '../reporter.js'
import {compareText} from '../../core/compare.js'

export interface ChainfireOptions {
  loaded: LoadedConfig
  ctx: Context
  reporter: Reporter
  timeoutMs: number
}

async function withClient<T>(opts: ChainfireOptions, fn: (client: ChainfireClient) => Promise<T>): Promise<T> {
  const client = chainfireClientFor(opts.loaded, opts.ctx)
  try {
    return await fn(client)
  } finally {
    client.close()
  }
}

/** Members with their health, leader and learner flags (the cluster's own member list). */
export async function listMembers(opts: ChainfireOptions): Promise<ChainfireHealth> {
  return withClient(opts, async (client) => (await checkChainfire(client, opts.ctx, opts.timeoutMs)).details)
}

export interface MoveLeaderResult {
  changed: boolean
  dryRun: boolean
  from: string
  to: string
  toId: string
  reason: string
  termBefore: number | null
  termAfter: number | null
  elapsedMs: number | null
}

/** The most caught-up healthy voter that is not the leader. */
export function pickSuccessor(members: MemberHealth[]): MemberHealth | undefined {
  return members
    .filter((m) => !m.leader && !m.learner && m.healthy && m.id)
    .sort((a, b) => (b.appliedIndex ?? -1) - (a.appliedIndex ?? -1) || compareText(a.name, b.name))[0]
}

/** Graceful leadership transfer: MoveLeader on the current leader, then wait until the target leads. */
export async function moveLeader(
  opts: ChainfireOptions & {to?: string; dryRun?: boolean; waitMs?: number},
): Promise<MoveLeaderResult> {
  return withClient(opts, async (client) => {
    const {details} = await checkChainfire(client, opts.ctx, opts.timeoutMs)
    const leader = details.members.find((m) => m.leader)
    if (!leader || !details.quorum) {
      throw new RefusedError(
        `cannot move leadership: the cluster has ${details.quorum ? 'no leader' : 'lost quorum'}`,
        {hint: 'run `plasmactl health` to see what is down'},
      )
    }
    let target: MemberHealth | undefined
    if (opts.to) {
      target = details.members.find((m) => m.name === opts.to || m.id === opts.to)
      if (!target)
        throw new UsageError(`no member "${opts.to}" (members: ${details.members.map((m) => m.name).join(', ')})`)
      if (target.learner) throw new RefusedError(`member ${target.name} is a learner and cannot lead; promote it first`)
      if (!target.healthy && !target.leader)
        throw new RefusedError(
          `member ${target.name} is not healthy (${target.error ?? 'down'}); it cannot take leadership`,
        )
    } else {
      target = pickSuccessor(details.members)
      if (!target) throw new RefusedError(`no healthy follower can take leadership from ${leader.name}`)
    }
    const base = {
      from: leader.name,
      to: target.name,
      toId: target.id!,
      termBefore: details.raftTerm,
      dryRun: Boolean(opts.dryRun),
    }
    if (target.leader)
      return {
        ...base,
        changed: false,
        reason: `${target.name} already leads`,
        termAfter: details.raftTerm,
        elapsedMs: 0,
      }
    const reason = opts.to ? 'requested' : `most caught-up healthy follower (applied index ${target.appliedIndex})`
    if (opts.dryRun) return {...base, changed: false, reason: `would move: ${reason}`, termAfter: null, elapsedMs: null}
    // A change of the cluster: it holds the one cluster lock (a held lock refuses, exit 6, naming the holder).
    const purpose = `chainfire move-leader ${leader.name} → ${target.name}`
    const lockOpts = {kind: 'leader' as const, purpose, client, reporter: opts.reporter}
    return withClusterLock(opts.ctx, lockOpts, () => transfer(client, opts, leader, target, base, reason))
  })
}

async function transfer(
  client: ChainfireClient,
  opts: ChainfireOptions & {to?: string; waitMs?: number},
  leader: MemberHealth,
  target: MemberHealth,
  base: Omit<MoveLeaderResult, 'changed' | 'reason' | 'termAfter' | 'elapsedMs'>,
  reason: string,
): Promise<MoveLeaderResult> {
  opts.reporter.info(`moving leadership ${leader.name} → ${target.name} (${reason})`)
  const started = performance.now()
  const endpoint = {name: leader.name, url: leader.endpoint!}
  await client.moveLeader(endpoint, target.id!)
  const deadline = Date.now() + (opts.waitMs ?? 15_000)
  const targetEndpoint = {name: target.name, url: target.endpoint!}
  for (;;) {
    try {
      const s = await client.status(targetEndpoint, opts.timeoutMs)
      if (s.leader === target.id) {
        return {
          ...base,
          changed: true,
          reason,
          termAfter: s.raftTerm,
          elapsedMs: Math.round(performance.now() - started),
        }
      }
    } catch {
      // the target may be briefly busy with the election; keep polling until the deadline
    }
    if (Date.now() > deadline)
      throw new OperationError(`leadership did not move to ${target.name} within ${opts.waitMs ?? 15_000} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}
