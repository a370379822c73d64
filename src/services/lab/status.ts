import {access} from 'node:fs/promises'
import {isRunning, readPidFile} from '../../adapters/exec/index.js'
import {UsageError} from '../../errors.js'
import {loadTls, probeHealth, type HealthProbe} from './health.js'
import {resolveConfigPath} from './lab-context.js'
import {labPaths, nodePaths} from './layout.js'
import {resolveLabDir} from './resolve-dir.js'
import {readLabState} from './state.js'

export interface LabStatusOptions {
  dir?: string
  context?: string
  configPath?: string
}

export interface ProcessStatus {
  /** From the pid file, also when that process is gone. */
  pid?: number
  alive: boolean
}

export interface LabStatusNode {
  name: string
  address: string
  sshPort: number
  clientUrl: string
  sshd: ProcessStatus
  member: ProcessStatus
  health: HealthProbe
}

export interface LabStatusHost {
  name: string
  address: string
  sshPort: number
  sshd: ProcessStatus
}

export interface LabStatusResult {
  /** ok: everything up; degraded: something down but a healthy majority; down: no quorum. */
  status: 'ok' | 'degraded' | 'down'
  dir: string
  context: string
  user: string
  tls: boolean
  nodes: LabStatusNode[]
  /** Extra hosts (lab up --hosts N): their sshd only. */
  hosts: LabStatusHost[]
}

async function processStatus(pidFile: string, comm: string): Promise<ProcessStatus> {
  const pid = await readPidFile(pidFile)
  return {pid, alive: await isRunning(pid, comm)}
}

export async function labStatus(opts: LabStatusOptions): Promise<LabStatusResult> {
  const dir = await resolveLabDir({
    dir: opts.dir,
    context: opts.context,
    configPath: resolveConfigPath(opts.configPath),
  })
  const state = await readLabState(dir)
  if (!state)
    throw new UsageError(`no lab in ${dir}`, {file: labPaths(dir).state, hint: 'start one with `plasmactl lab up`'})
  const paths = labPaths(dir)
  const tlsReady =
    state.tls &&
    (await access(paths.clientKey).then(
      () => true,
      () => false,
    ))
  const tls = tlsReady ? await loadTls({ca: paths.ca, cert: paths.clientCert, key: paths.clientKey}) : undefined
  const nodes = await Promise.all(
    state.nodes.map(async (n) => {
      const np = nodePaths(dir, n.name)
      const [sshd, member, health] = await Promise.all([
        processStatus(np.sshdPid, 'sshd'),
        processStatus(np.memberPid, 'etcd'),
        probeHealth(n.clientUrl, tls, 1500),
      ])
      return {name: n.name, address: n.address, sshPort: n.sshPort, clientUrl: n.clientUrl, sshd, member, health}
    }),
  )
  const hosts = await Promise.all(
    (state.hosts ?? []).map(async (h) => ({
      name: h.name,
      address: h.address,
      sshPort: h.sshPort,
      sshd: await processStatus(nodePaths(dir, h.name).sshdPid, 'sshd'),
    })),
  )
  const healthy = nodes.filter((n) => n.health.ok).length
  const allUp = nodes.every((n) => n.sshd.alive && n.member.alive && n.health.ok) && hosts.every((h) => h.sshd.alive)
  const status = allUp ? 'ok' : healthy > nodes.length / 2 ? 'degraded' : 'down'
  return {status, dir, context: state.contextName, user: state.user, tls: state.tls, nodes, hosts}
}
