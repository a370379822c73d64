import {checkVms, type VmCheckReport} from '../../vm/check.js'
import {vmHosts} from '../../vm/hosts.js'
import type {Probe} from '../types.js'

export type PlasmavmcHealth = Pick<VmCheckReport, 'hosts' | 'vms' | 'orphans' | 'invalidRecords'>

/** Per host: reachable, service active; per VM: record vs QEMU vs QMP (the same check as `vm check`). */
export const plasmavmcProbe: Probe<PlasmavmcHealth> = {
  component: 'plasmavmc',
  applies: (ctx) => vmHosts(ctx).length > 0,
  async run(pc) {
    const r = await checkVms({loaded: pc.loaded, ctx: pc.ctx, reporter: pc.reporter, timeoutMs: pc.timeoutMs})
    const running = r.vms.filter((v) => v.observed === 'running').length
    const up = r.hosts.filter((h) => h.reachable && h.serviceActive).length
    const unchecked = r.hosts.filter((h) => h.cannotCheck).length
    return {
      status: r.status,
      summary: [
        unchecked ? `${unchecked} host(s) not checked (a local problem, see below)` : '',
        r.hosts.length > unchecked ? `${up}/${r.hosts.length - unchecked} hosts up` : '',
        `${running}/${r.vms.length} VMs running`,
        `${r.orphans.length} orphan(s)`,
      ]
        .filter(Boolean)
        .join(', '),
      findings: [
        ...r.hosts
          .filter((h) => h.reachable && h.serviceActive)
          .map((h) => ({
            status: 'ok' as const,
            target: h.host,
            message: `host ${h.host}: service active, ${h.vms} VM(s)`,
          })),
        ...r.findings,
      ],
      details: {hosts: r.hosts, vms: r.vms, orphans: r.orphans, invalidRecords: r.invalidRecords},
    }
  },
}
