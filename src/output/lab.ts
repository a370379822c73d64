import type {LabDownResult} from '../services/lab/down.js'
import type {LabStatusResult} from '../services/lab/status.js'
import type {LabUpResult} from '../services/lab/up.js'
import {renderTable as table} from './table.js'

/* Human tables for the lab commands (pure: they return text). */

/** One line for the extra hosts (lab up --hosts N): at 100 hosts a row each would bury the nodes. */
function hostsLine(hosts: {name: string; address: string; up: boolean; note?: string}[]): string[] {
  if (hosts.length === 0) return []
  const down = hosts.filter((h) => !h.up)
  const range = `${hosts[0].name}..${hosts.at(-1)!.name} on ${hosts[0].address}..${hosts.at(-1)!.address}`
  return [
    '',
    `hosts ${range} (sshd only, role plasmavmc-host): ${hosts.length - down.length}/${hosts.length} sshd up${hosts.some((h) => h.note) ? `, ${hosts.filter((h) => h.note).length} started` : ''}${down.length > 0 ? `; DOWN: ${down.map((h) => h.name).join(', ')}` : ''}`,
  ]
}

const pid = (p: {pid?: number; alive: boolean}) => (p.alive ? `${p.pid} up` : p.pid ? `${p.pid} DEAD` : 'down')

export function renderLabUp(r: LabUpResult): string {
  // pid 0: the member is disabled (removed from the cluster, or added to the lab but not joined yet).
  const rows = r.nodes.map((n) => [
    n.name,
    `${n.address}:${n.sshPort}`,
    `${n.sshd.pid}${n.sshd.started ? ' (started)' : ''}`,
    n.member.pid === 0 ? 'disabled' : `${n.member.pid}${n.member.started ? ' (started)' : ''}`,
    n.clientUrl,
    n.member.pid === 0 ? '-' : n.healthy ? 'healthy' : 'UNHEALTHY',
  ])
  return [
    table(['NODE', 'SSH', 'SSHD', 'CHAINFIRE', 'CLIENT URL', 'HEALTH'], rows),
    ...(r.components.length > 0
      ? [
          '',
          table(
            ['COMPONENT', 'NODE', 'SERVICE', 'PID', 'ENDPOINT'],
            r.components.map((c) => [
              c.component,
              c.node,
              c.service,
              `${c.pid ?? '-'}${c.outcome === 'started' ? ' (started)' : ''}`,
              c.endpoint ?? '-',
            ]),
          ),
        ]
      : []),
    ...hostsLine(
      r.hosts.map((h) => ({
        name: h.name,
        address: h.address,
        up: h.sshd.pid > 0,
        note: h.sshd.started ? 'started' : undefined,
      })),
    ),
    '',
    `lab ${r.dir} is up in ${(r.elapsedMs / 1000).toFixed(1)} s (nodes log in as ${r.user}${r.tls ? '; client TLS on' : ''}); context "${r.context}" is current in ${r.configPath}`,
  ].join('\n')
}

export function renderLabStatus(r: LabStatusResult): string {
  const rows = r.nodes.map((n) => [
    n.name,
    `${n.address}:${n.sshPort}`,
    pid(n.sshd),
    pid(n.member),
    n.health.ok ? 'healthy' : `UNHEALTHY (${n.health.error})`,
  ])
  return [
    table(['NODE', 'SSH', 'SSHD', 'CHAINFIRE', 'HEALTH'], rows),
    ...hostsLine(r.hosts.map((h) => ({name: h.name, address: h.address, up: h.sshd.alive}))),
    '',
    `lab ${r.dir}: ${r.status} (context "${r.context}", user ${r.user}${r.tls ? ', TLS' : ''})`,
  ].join('\n')
}

export function renderLabDown(r: LabDownResult): string {
  if (!r.found)
    return `no lab in ${r.dir}; nothing to stop${r.removedContexts.length > 0 ? ` (removed context ${r.removedContexts.join(', ')})` : ''}`
  const rows = r.nodes.map((n) => [n.name, n.sshd, n.member])
  const tail = r.purged
    ? `removed ${r.dir}${r.removedContexts.length > 0 ? ` and context ${r.removedContexts.join(', ')}` : ''}`
    : `stopped; data kept in ${r.dir} (lab up starts it again)`
  const hosts =
    r.hosts.length > 0
      ? ['', `hosts: ${r.hosts.filter((h) => h.sshd !== 'not-running').length} of ${r.hosts.length} sshd stopped`]
      : []
  return [table(['NODE', 'SSHD', 'CHAINFIRE'], rows), ...hosts, '', tail].join('\n')
}
