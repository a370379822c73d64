import {UsageError} from '../../errors.js'
import {didYouMean} from '../../suggest.js'
import type {PartitionKind} from './partition.js'

export type FaultKind =
  | 'kill'
  | 'stop'
  | 'quorum-loss'
  | 'netem'
  | 'partition'
  | 'restore'
  | 'rolling-restart'
  | 'component-kill'
  | 'component-stop'
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
  /** Partition drills: which traffic of the member is cut. */
  partition?: PartitionKind
  /** Component drills: the component (its health check, and a lab with it). */
  component?: 'plasmavmc' | 'iam' | 'flaredb' | 'prismnet'
}

/**
 * How partitions are made (documented in the drill list): iptables DROP rules in OUTPUT, matched by
 * the member's cgroup v2 group (lab: each node's sshd and all it starts; real nodes: the systemd
 * unit's group) and by destination address and port; applied as root (lab: locally, plasmactl runs
 * as root on the lab machine; real nodes: `sudo -n` over SSH); removed on heal, on Ctrl-C, or by the
 * dead-man timer on the node. Skipped (not failed) where iptables or the cgroup v2 group is missing.
 */
const PARTITION_NOTE = 'iptables -m cgroup DROP rules, as root; skipped without cgroup v2'

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
    name: 'follower-partition',
    summary: `cut a follower's peer traffic (raft) for the hold, then remove the rules (${PARTITION_NOTE})`,
    fault: 'partition',
    partition: 'peer',
    target: 'follower',
    recovery: 'remove the iptables rules',
    needsSnapshot: true,
  },
  {
    name: 'leader-partition',
    summary: `cut the leader's peer traffic: the others elect a new leader; then remove the rules (${PARTITION_NOTE})`,
    fault: 'partition',
    partition: 'peer',
    target: 'leader',
    recovery: 'remove the iptables rules',
    needsSnapshot: true,
  },
  {
    name: 'client-partition',
    summary: `cut client traffic to the leader (it keeps leading; clients fail over), then remove the rules (${PARTITION_NOTE})`,
    fault: 'partition',
    partition: 'client',
    target: 'leader',
    recovery: 'remove the iptables rules',
    needsSnapshot: true,
  },
  {
    name: 'rolling-restart',
    summary:
      'restart every member one by one with the chainfire/rolling-restart runbook under the workload; measures per member',
    fault: 'rolling-restart',
    target: 'leader',
    recovery: 'runbook chainfire/rolling-restart',
    needsSnapshot: false,
  },
  {
    name: 'vm-qemu-kill',
    summary: "kill -9 a running VM's QEMU (--node: on that host), recover with the plasmavmc/vm-crash-restart runbook",
    fault: 'component-kill',
    component: 'plasmavmc',
    target: 'named',
    recovery: 'runbook plasmavmc/vm-crash-restart',
    needsSnapshot: false,
  },
  {
    name: 'iam-stop',
    summary: 'stop IAM (its service stop command), start it again with its service start command',
    fault: 'component-stop',
    component: 'iam',
    target: 'named',
    recovery: 'service iam start',
    needsSnapshot: false,
  },
  {
    name: 'flaredb-store-kill',
    summary: 'kill -9 a FlareDB store (--node: that one), recover with the flaredb/store-restart runbook',
    fault: 'component-kill',
    component: 'flaredb',
    target: 'named',
    recovery: 'runbook flaredb/store-restart',
    needsSnapshot: false,
  },
  {
    name: 'ovn-nb-leader-kill',
    summary: 'kill -9 the OVN Northbound DB leader, recover with the prismnet/ovn-db-recovery runbook',
    fault: 'component-kill',
    component: 'prismnet',
    target: 'leader',
    recovery: 'runbook prismnet/ovn-db-recovery',
    needsSnapshot: false,
  },
  {
    name: 'restore-rehearsal',
    summary:
      'restore the newest verified snapshot into a throwaway member on this machine (own ports and dir), time it to serving, check key count and HashKV, tear it down',
    fault: 'restore',
    target: 'named',
    recovery: 'tear the throwaway cluster down',
    needsSnapshot: false,
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
