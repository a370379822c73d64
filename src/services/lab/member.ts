import {access} from 'node:fs/promises'
import {join} from 'node:path'
import {isRunning, readPidFile, run, which} from '../../adapters/exec/index.js'
import type {SshConnections, SshConnectOptions} from '../../adapters/ssh/index.js'
import {OperationError} from '../../errors.js'
import {isRoot, labPaths, nodePaths} from './layout.js'
import type {LabHostState, LabNodeState, LabState} from './state.js'

/** The member's pid when it is running (pid file + a live process named etcd). */
export async function memberPid(dir: string, node: string): Promise<number | undefined> {
  const pid = await readPidFile(nodePaths(dir, node).memberPid)
  return (await isRunning(pid, 'etcd')) ? pid : undefined
}

/** True when the node's service was disabled (node removal, or a node added but not yet joined). */
export async function memberDisabled(dir: string, node: string): Promise<boolean> {
  return access(join(nodePaths(dir, node).nodeDir, 'chainfire.disabled')).then(
    () => true,
    () => false,
  )
}

/** How the operator reaches a lab node over SSH (the same settings the lab context carries). */
export function labSshTarget(state: LabState, node: LabHostState): SshConnectOptions {
  const paths = labPaths(state.dir)
  return {
    host: node.address,
    port: node.sshPort,
    username: state.user,
    identityFile: paths.identity,
    knownHostsFile: paths.knownHosts,
    hostKeyPolicy: 'strict',
    connectTimeoutMs: 10_000,
  }
}

/** Runs `bin/service chainfire VERB` on the node through its own sshd, as runbooks will. */
export async function serviceOverSsh(
  ssh: SshConnections,
  state: LabState,
  node: LabNodeState,
  verb: 'start' | 'stop' | 'restart' | 'is-active' | 'status',
) {
  const command = `${nodePaths(state.dir, node.name).service} chainfire ${verb}`
  return ssh.exec(labSshTarget(state, node), command, {timeoutMs: 30_000})
}

export async function startMemberOverSsh(ssh: SshConnections, state: LabState, node: LabNodeState): Promise<number> {
  const r = await serviceOverSsh(ssh, state, node, 'start')
  const pid = await memberPid(state.dir, node.name)
  if (r.exitCode !== 0 || !pid) {
    const why = (r.stderr.trim() || r.stdout.trim()).split('\n').join('; ')
    throw new OperationError(`ChainFire member ${node.name} did not start: ${why || `exit ${r.exitCode}`}`, {
      host: node.address,
      command: `service chainfire start`,
      file: nodePaths(state.dir, node.name).memberLog,
    })
  }
  return pid
}

/**
 * Stops the member with its service script, run locally as the lab user (works while the node's
 * sshd is down, and never runs lab-user-writable scripts as root).
 */
export async function stopMemberLocally(state: LabState, node: string): Promise<'not-running' | 'stopped'> {
  if (!(await memberPid(state.dir, node))) return 'not-running'
  const script = nodePaths(state.dir, node).service
  let r
  if (isRoot() && state.user !== 'root') {
    const runuser = (await which('runuser')) ?? 'runuser'
    r = await run(runuser, ['-u', state.user, '--', '/bin/sh', script, 'chainfire', 'stop'], {timeoutMs: 30_000})
  } else {
    r = await run('/bin/sh', [script, 'chainfire', 'stop'], {timeoutMs: 30_000})
  }
  if (r.exitCode !== 0)
    throw new OperationError(`stopping ChainFire member ${node} failed: ${r.stderr.trim() || r.stdout.trim()}`, {
      command: r.command,
    })
  return 'stopped'
}
