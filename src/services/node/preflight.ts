import type {LoadedConfig} from '../../config/load.js'
import type {Member} from '../../adapters/chainfire/index.js'
import type {Context, NodeSpec, Role} from '../../config/schema.js'
import {failureTolerance, majority} from '../health/quorum.js'
import type {ChainfireHealth, MemberHealth} from '../health/probes/chainfire.js'
import type {LockHolder} from '../lock.js'
import {refusal, type RefusedError} from '../../errors.js'

/**
 * Preflight checks of node operations, pluggable per node role. A check returns findings; a
 * "refuse" finding stops the operation (exit 6) unless the operator passes `--force CHECK_ID` for
 * exactly that check: every refusal has its own override, none is overridden silently.
 *
 * Later work adds checks for other roles by appending to NODE_CHECKS, for example
 * {id: 'vms-running', roles: ['plasmavmc-host'], …} ("PlasmaVMC host still runs VMs") or
 * {id: 'flaredb-replicas', roles: ['flaredb'], …} ("FlareDB regions would fall under 3 live replicas").
 */

export type NodeOperation = 'remove' | 'add'

export interface CheckFinding {
  /** The check's id; `--force ID` overrides a refusal. */
  id: string
  level: 'refuse' | 'warn' | 'info'
  message: string
  /** Set when a refusal was overridden with --force. */
  overridden?: boolean
  /** What to do about a refusal that no --force overrides (host key, SSH, sudo, disk). */
  hint?: string
}

/** ChainFire quorum arithmetic of removing one node, computed before anything changes. */
export interface RemovalImpact {
  votersBefore: number
  votersAfter: number
  healthyBefore: number
  healthyAfter: number
  quorumAfter: number
  failureToleranceBefore: number
  failureToleranceAfter: number
  /** Healthy voters other than the node that are down now. */
  othersDown: string[]
}

export interface PreflightInput {
  operation: NodeOperation
  ctx: Context
  node: NodeSpec
  /** The cluster as seen right now (checkChainfire). */
  cluster: ChainfireHealth
  /** The node's ChainFire member (from the member list), if it is one. */
  member: Member | undefined
  memberHealth: MemberHealth | undefined
  impact: RemovalImpact
  /** Holder of the cluster lock, when someone holds it. */
  lock: Partial<LockHolder> | null
  /** The config the context came from (relative TLS paths); checks that read ChainFire use it. */
  loaded?: LoadedConfig
}

export interface NodeCheck {
  id: string
  /** Roles whose nodes this check applies to ('*': every node). */
  roles: readonly Role[] | '*'
  operations: readonly NodeOperation[]
  describe: string
  run(input: PreflightInput): CheckFinding[] | Promise<CheckFinding[]>
}

export function removalImpact(
  cluster: ChainfireHealth,
  member: Member | undefined,
  memberHealth: MemberHealth | undefined,
): RemovalImpact {
  const voterRows = cluster.members.filter((m) => !m.learner && m.id && !/not a member/.test(m.error ?? ''))
  const isVoter = Boolean(member && !member.isLearner)
  const nodeHealthy = Boolean(memberHealth?.healthy)
  const votersBefore = cluster.voters
  const healthyBefore = cluster.votersHealthy
  const votersAfter = votersBefore - (isVoter ? 1 : 0)
  const healthyAfter = healthyBefore - (isVoter && nodeHealthy ? 1 : 0)
  return {
    votersBefore,
    votersAfter,
    healthyBefore,
    healthyAfter,
    quorumAfter: majority(votersAfter),
    failureToleranceBefore: cluster.failureTolerance,
    failureToleranceAfter: votersAfter > 0 ? failureTolerance(votersAfter, votersAfter - healthyAfter) : 0,
    othersDown: voterRows.filter((m) => !m.healthy && m.id !== member?.id).map((m) => m.name),
  }
}

const lockCheck: NodeCheck = {
  id: 'lock',
  roles: '*',
  operations: ['remove', 'add'],
  describe: 'no runbook or other node operation holds the cluster lock',
  run: ({lock}) =>
    lock
      ? [
          {
            id: 'lock',
            level: 'refuse',
            message: `the cluster lock is held by ${lock.holder ?? 'unknown'} (${lock.purpose ?? 'run'} ${lock.runId ?? ''}, pid ${lock.pid ?? '?'} on ${lock.host ?? '?'}, since ${lock.startedAt ?? '?'}); wait for it to finish`,
          },
        ]
      : [],
}

const leaderCheck: NodeCheck = {
  id: 'no-leader',
  roles: ['chainfire'],
  operations: ['remove', 'add'],
  describe: 'the ChainFire cluster has a leader',
  run: ({cluster}) =>
    cluster.leader && cluster.quorum
      ? []
      : [
          {
            id: 'no-leader',
            level: 'refuse',
            message: `the ChainFire cluster has ${cluster.quorum ? 'no leader' : `lost quorum (${cluster.votersHealthy}/${cluster.voters} voters healthy)`}: membership cannot change safely`,
          },
        ],
}

const lastMemberCheck: NodeCheck = {
  id: 'last-member',
  roles: ['chainfire'],
  operations: ['remove'],
  describe: 'the node is not the last ChainFire member',
  run: ({member, cluster, node}) =>
    member && cluster.members.filter((m) => m.id && !/not a member/.test(m.error ?? '')).length <= 1
      ? [
          {
            id: 'last-member',
            level: 'refuse',
            message: `${node.name} is the last ChainFire member: removing it destroys the cluster (use snapshot restore / a new cluster instead)`,
          },
        ]
      : [],
}

const quorumCheck: NodeCheck = {
  id: 'quorum',
  roles: ['chainfire'],
  operations: ['remove'],
  describe: 'the remaining voters keep a healthy majority',
  run: ({member, memberHealth, impact: i, node}) => {
    if (!member || member.isLearner || i.votersAfter === 0) return []
    if (i.healthyAfter >= i.quorumAfter) return []
    if (i.othersDown.length > 0 && memberHealth?.healthy) {
      return [
        {
          id: 'member-down',
          level: 'refuse',
          message: `${i.othersDown.join(', ')} ${i.othersDown.length === 1 ? 'is' : 'are'} already down: removing healthy ${node.name} would leave ${i.healthyAfter} of ${i.votersAfter} voters healthy (${i.quorumAfter} needed) and lose quorum; remove the down member first (plasmactl node remove ${i.othersDown[0]})`,
        },
      ]
    }
    return [
      {
        id: 'quorum',
        level: 'refuse',
        message: `after removing ${node.name}, ${i.healthyAfter} of ${i.votersAfter} voters would be healthy, fewer than the ${i.quorumAfter} a majority needs`,
      },
    ]
  },
}

const toleranceWarnings: NodeCheck = {
  id: 'tolerance',
  roles: ['chainfire'],
  operations: ['remove'],
  describe: 'warns about failure tolerance 0 and even voter counts after removal',
  run: ({member, impact: i}) => {
    if (!member || member.isLearner || i.votersAfter === 0) return []
    const out: CheckFinding[] = []
    if (i.failureToleranceAfter === 0 && i.healthyAfter >= i.quorumAfter) {
      out.push({
        id: 'tolerance',
        level: 'warn',
        message: `failure tolerance drops to 0: with ${i.votersAfter} voter${i.votersAfter === 1 ? '' : 's'} left, losing one more loses quorum; add a member soon (plasmactl node add)`,
      })
    }
    if (i.votersAfter % 2 === 0) {
      out.push({
        id: 'even-voters',
        level: 'warn',
        message: `${i.votersAfter} voters remain: an even count tolerates no more failures than ${i.votersAfter - 1}`,
      })
    }
    return out
  },
}

const notMemberInfo: NodeCheck = {
  id: 'not-member',
  roles: ['chainfire'],
  operations: ['remove'],
  describe: 'notes a node that is no ChainFire member (nothing to remove from the cluster)',
  run: ({member, node}) =>
    member
      ? []
      : [
          {
            id: 'not-member',
            level: 'info',
            message: `${node.name} is not a ChainFire member; only its service, data and context entry are handled`,
          },
        ],
}

const flaredbReplicasCheck: NodeCheck = {
  id: 'flaredb-replicas',
  roles: ['flaredb'],
  operations: ['remove'],
  describe: 'no FlareDB region would fall under 3 live replicas',
  async run({ctx, node, loaded}) {
    const {flaredbRemovalCheck} = await import('../flaredb/index.js')
    const r = await flaredbRemovalCheck(ctx, node.name, {loaded})
    return r.reasons.map((message) => ({id: 'flaredb-replicas', level: 'refuse' as const, message}))
  },
}

const vmsRunningCheck: NodeCheck = {
  id: 'vms-running',
  roles: ['plasmavmc-host'],
  operations: ['remove'],
  describe: 'the PlasmaVMC host runs no VM that is meant to be running',
  async run({ctx, node, loaded}) {
    const [{chainfireClientFor}, {loadVmRecords}] = await Promise.all([
      import('../../adapters/chainfire/index.js'),
      import('../vm/records.js'),
    ])
    const client = chainfireClientFor(loaded ?? ({path: `${process.cwd()}/config.yaml`} as LoadedConfig), ctx)
    try {
      const {records} = await loadVmRecords(client)
      const here = records
        .filter((r) => r.record.host === node.name && r.record.desiredState === 'running')
        .map((r) => r.record.id)
      return here.length === 0
        ? []
        : [
            {
              id: 'vms-running',
              level: 'refuse',
              message: `PlasmaVMC host ${node.name} still runs ${here.length} VM(s) (${here.join(', ')}): evacuate it first (plasmactl vm evacuate ${node.name})`,
            },
          ]
    } finally {
      client.close()
    }
  },
}

/** The registered checks, in the order they run. Append checks for other roles here. */
export const NODE_CHECKS: readonly NodeCheck[] = [
  lockCheck,
  leaderCheck,
  lastMemberCheck,
  quorumCheck,
  toleranceWarnings,
  notMemberInfo,
  flaredbReplicasCheck,
  vmsRunningCheck,
]

/** Ids that `--force` accepts (each overrides only its own refusal). */
export const OVERRIDABLE_CHECKS = [
  'lock',
  'no-leader',
  'last-member',
  'member-down',
  'quorum',
  'flaredb-replicas',
  'vms-running',
] as const

/** Runs the checks that apply to the node's roles; refusals named in `force` are kept but marked overridden. */
export async function runPreflight(
  input: PreflightInput,
  force: readonly string[] = [],
  checks: readonly NodeCheck[] = NODE_CHECKS,
): Promise<CheckFinding[]> {
  const applies = (c: NodeCheck) =>
    c.operations.includes(input.operation) && (c.roles === '*' || c.roles.some((r) => input.node.roles.includes(r)))
  const findings: CheckFinding[] = []
  for (const c of checks.filter(applies)) findings.push(...(await c.run(input)))
  return findings.map((f) => (f.level === 'refuse' && force.includes(f.id) ? {...f, overridden: true} : f))
}

export function refusals(findings: readonly CheckFinding[]): CheckFinding[] {
  return findings.filter((f) => f.level === 'refuse' && !f.overridden)
}

/** The hint of a refusal: `--force ID` for the checks that have an override, the finding's own hint for the others. */
export function refusalHint(found: readonly CheckFinding[]): string {
  const forcible = found.filter((f) => (OVERRIDABLE_CHECKS as readonly string[]).includes(f.id))
  const own = found.flatMap((f) => (f.hint && !forcible.includes(f) ? [f.hint] : []))
  // One override per check, however many reasons it gave.
  const ids = [...new Set(forcible.map((f) => f.id))]
  const force =
    ids.length > 0
      ? [
          `${ids.map((id) => `--force ${id}`).join(' ')} overrides ${ids.length === 1 ? 'this check' : 'these checks'} (only if you know why it is safe)`,
        ]
      : []
  return [...own, ...force].join('; ')
}

/** The refusal of a node operation: each refused check a reason with its own override, and the plan refused. */
export function refusedPlan(headline: string, found: readonly CheckFinding[], plan?: unknown): RefusedError {
  const forcible = (id: string) => (OVERRIDABLE_CHECKS as readonly string[]).includes(id)
  return refusal(
    headline,
    found.map((f) => ({...f, ...(forcible(f.id) ? {override: `--force ${f.id}`} : {})})),
    {plan, hint: refusalHint(found)},
  )
}

/** The outcome of a dry run of a node plan: nothing ran; the plan and the checks' warnings. */
export function dryRunOutcome<P>(plan: P, checks: CheckFinding[]) {
  return {
    runId: null,
    dryRun: true,
    plan,
    skipped: [] as string[],
    completed: [] as string[],
    warnings: checks.filter((c) => c.level === 'warn').map((c) => c.message),
  }
}
