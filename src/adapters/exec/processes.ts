import {readFile} from 'node:fs/promises'

/** Local process checks by pid, reading /proc (Linux). A zombie counts as dead: nobody may reap it soon. */

export async function readPidFile(path: string): Promise<number | undefined> {
  try {
    const n = Number.parseInt((await readFile(path, 'utf8')).trim(), 10)
    return Number.isInteger(n) && n > 0 ? n : undefined
  } catch {
    return undefined
  }
}

export interface ProcessInfo {
  alive: boolean
  /** Executable name as the kernel reports it (/proc/PID/comm). */
  comm?: string
  /** Real uid of the process. */
  uid?: number
}

export async function processInfo(pid: number | undefined): Promise<ProcessInfo> {
  if (!pid) return {alive: false}
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]
    if (state === 'Z' || state === 'X') return {alive: false}
    const comm = (await readFile(`/proc/${pid}/comm`, 'utf8')).trim()
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1])
    return {alive: true, comm, uid: Number.isNaN(uid) ? undefined : uid}
  } catch {
    return {alive: false}
  }
}

/** True when PID is alive and, if COMM is given, runs that executable (guards against recycled pids). */
export async function isRunning(pid: number | undefined, comm?: string): Promise<boolean> {
  const info = await processInfo(pid)
  return info.alive && (comm === undefined || info.comm === comm)
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (!(await processInfo(pid)).alive) return true
    if (Date.now() >= deadline) return false
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Sends SIGTERM, waits up to graceMs, then SIGKILL. Returns what it had to do. */
export async function terminate(pid: number, graceMs = 10_000): Promise<'not-running' | 'stopped' | 'killed'> {
  if (!(await processInfo(pid)).alive) return 'not-running'
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return 'not-running'
  }
  if (await waitForExit(pid, graceMs)) return 'stopped'
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // Gone between the check and the kill.
  }
  await waitForExit(pid, 5000)
  return 'killed'
}
