import {mkdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {isRunning, processInfo, readPidFile, run, terminate} from '../../adapters/exec/index.js'
import {OperationError} from '../../errors.js'
import {CGROUP2_ROOT, isRoot, labNodeCgroup, nodePaths} from './layout.js'
import type {LabHostState} from './state.js'

export interface SshdStart {
  pid: number
  started: boolean
}

/** The node's sshd pid when it is running (pid file + a live process named sshd). */
export async function sshdPid(dir: string, node: string): Promise<number | undefined> {
  const pid = await readPidFile(nodePaths(dir, node).sshdPid)
  return (await isRunning(pid, 'sshd')) ? pid : undefined
}

async function logTail(file: string, lines = 5): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '')
  return text.trim().split('\n').slice(-lines).join('; ')
}

/**
 * Moves the node's sshd into its own cgroup v2 group, so that everything started through it (the
 * member) can be cut off by `iptables -m cgroup --path` (partition drills). Best effort: without root
 * or without the v2 hierarchy the lab works as before and partition drills report themselves skipped.
 */
async function joinNodeCgroup(address: string, pid: number): Promise<void> {
  if (!isRoot() || !(await stat(CGROUP2_ROOT).catch(() => undefined))) return
  const group = join(CGROUP2_ROOT, labNodeCgroup(address))
  await mkdir(group, {recursive: true})
    .then(() => writeFile(join(group, 'cgroup.procs'), `${pid}\n`))
    .catch(() => undefined)
}

/** Starts the node's own sshd unless it runs already; returns once it listens (pid file written). */
export async function startSshd(dir: string, node: LabHostState, sshdBin: string): Promise<SshdStart> {
  const running = await sshdPid(dir, node.name)
  if (running) {
    await joinNodeCgroup(node.address, running)
    return {pid: running, started: false}
  }
  const np = nodePaths(dir, node.name)
  await rm(np.sshdPid, {force: true})
  // Privilege separation needs this directory when sshd runs as root.
  if (isRoot()) await mkdir('/run/sshd', {recursive: true, mode: 0o755})
  const where = `${node.address}:${node.sshPort}`
  const r = await run(sshdBin, ['-f', np.sshdConfig, '-E', np.sshdLog], {timeoutMs: 10_000})
  if (r.exitCode !== 0) {
    throw new OperationError(
      `sshd for ${node.name} (${where}) did not start: ${(r.stderr.trim() || (await logTail(np.sshdLog))).split('\n')[0]}`,
      {
        host: node.address,
        command: r.command,
        file: np.sshdLog,
      },
    )
  }
  // sshd daemonizes, then binds, then writes its pid file: the file means "listening".
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    const pid = await readPidFile(np.sshdPid)
    if (pid && (await processInfo(pid)).alive) {
      await joinNodeCgroup(node.address, pid)
      return {pid, started: true}
    }
    await new Promise((res) => setTimeout(res, 25))
  }
  const tail = await logTail(np.sshdLog)
  const busy = /Address already in use|Cannot bind/.test(tail)
  throw new OperationError(`sshd for ${node.name} did not come up on ${where}: ${tail || 'no log output'}`, {
    host: node.address,
    file: np.sshdLog,
    hint: busy ? 'another process (another lab?) listens there: pick another --address-prefix' : undefined,
  })
}

export async function stopSshd(dir: string, node: string): Promise<'not-running' | 'stopped' | 'killed'> {
  const np = nodePaths(dir, node)
  const pid = await sshdPid(dir, node)
  const outcome = pid ? await terminate(pid, 5000) : 'not-running'
  await rm(np.sshdPid, {force: true})
  return outcome
}
