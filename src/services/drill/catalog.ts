import {UsageError} from '../../errors.js'
import {didYouMean} from '../../suggest.js'

export type FaultKind = 'kill' | 'stop' | 'quorum-loss' | 'netem'
/** Which member a fault hits: the leader, a follower, or the one `--node` names. */
export type FaultTarget = 'leader' | 'follower' | 'named'

export interface DrillSpec {
  name: string
  summary: string
  fault: FaultKind
  target: FaultTarget
  /** How the drill recovers unless --no-recover. */
  recovery: string
  /** Needs a verified snapshot younger than an hour (or --no-snapshot). */
  needsSnapshot: boolean
}

/** The drills plasmactl runs (ChainFire faults; each reverted by a dead-man timer on the node). */
export const DRILLS: DrillSpec[] = [
  {
    name: 'leader-kill',
    summary: 'kill -9 the leader, restart it with the restart-node runbook',
    fault: 'kill',
    target: 'leader',
    recovery: 'runbook chainfire/restart-node',
    needsSnapshot: false,
  },
  {
    name: 'follower-kill',
    summary: 'kill -9 a follower, restart it with the restart-node runbook',
    fault: 'kill',
    target: 'follower',
    recovery: 'runbook chainfire/restart-node',
    needsSnapshot: false,
  },
  {
    name: 'member-kill',
    summary: 'kill -9 the member --node names, restart it with the restart-node runbook',
    fault: 'kill',
    target: 'named',
    recovery: 'runbook chainfire/restart-node',
    needsSnapshot: false,
  },
  {
    name: 'leader-stop',
    summary: 'SIGSTOP the leader (hung, not dead), SIGCONT after the hold',
    fault: 'stop',
    target: 'leader',
    recovery: 'SIGCONT',
    needsSnapshot: false,
  },
  {
    name: 'follower-stop',
    summary: 'SIGSTOP a follower, SIGCONT after the hold',
    fault: 'stop',
    target: 'follower',
    recovery: 'SIGCONT',
    needsSnapshot: false,
  },
  {
    name: 'quorum-loss',
    summary:
      'kill -9 a majority (the leader first), rebuild with the quorum-loss-recovery runbook (--source, --accept-data-loss)',
    fault: 'quorum-loss',
    target: 'leader',
    recovery: 'runbook chainfire/quorum-loss-recovery',
    needsSnapshot: true,
  },
  {
    name: 'latency',
    summary: "add latency to a follower's peer traffic with tc netem (skipped where netem is not available)",
    fault: 'netem',
    target: 'follower',
    recovery: 'remove the qdisc',
    needsSnapshot: false,
  },
]

export function drillSpec(name: string): DrillSpec {
  const d = DRILLS.find((x) => x.name === name)
  if (!d) {
    const names = DRILLS.map((x) => x.name)
    throw new UsageError(`unknown drill "${name}" (drills: ${names.join(', ')})${didYouMean(name, names)}`, {
      hint: 'plasmactl drill list',
    })
  }
  return d
}
