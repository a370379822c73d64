import {chown, rm} from 'node:fs/promises'
import {mapLimit} from '../../core/concurrency.js'
import {UsageError} from '../../errors.js'
import {ensureEd25519Key} from './keys.js'
import {LAB_SSH_PORT, type LabPaths, nodePaths} from './layout.js'
import {writeSshdFiles} from './node-files.js'
import type {LabUser} from './prereqs.js'
import {startSshd, stopSshd, type SshdStart} from './sshd.js'
import type {LabHostState, LabState} from './state.js'

/**
 * Extra lab hosts (`lab up --hosts N`): PlasmaVMC hypervisor stand-ins that run only their own
 * sshd (no ChainFire member), named h1..hN on PREFIX.101..PREFIX.(100+N), so fan-out can be
 * exercised at fleet size on one machine. Each costs one sshd process (~4 MiB) and a host key.
 */
export const MAX_LAB_HOSTS = 100
const FIRST_HOST_OCTET = 101
/** sshds started or stopped at once (each start runs sshd, which loads its config and key). */
const START_CONCURRENCY = 16

export function validateHostCount(n: number | undefined): void {
  if (n !== undefined && (!Number.isInteger(n) || n < 0 || n > MAX_LAB_HOSTS))
    throw new UsageError(`--hosts must be 0..${MAX_LAB_HOSTS}, not ${n}`)
}

/** The hosts a lab of PREFIX has with COUNT extra hosts (existing entries kept as they are). */
export function planHosts(prefix: string, count: number, existing: LabHostState[] = []): LabHostState[] {
  return Array.from(
    {length: count},
    (_, i) => existing[i] ?? {name: `h${i + 1}`, address: `${prefix}.${FIRST_HOST_OCTET + i}`, sshPort: LAB_SSH_PORT},
  )
}

/** The host's directory: sshd files owned by the operator, node dir and bin/ by the lab user (the vm component writes there). */
export async function writeHostFiles(
  state: LabState,
  host: LabHostState,
  paths: LabPaths,
  user: LabUser,
): Promise<void> {
  const np = await writeSshdFiles(state, host, paths, user)
  if (process.getuid?.() === 0) for (const p of [np.nodeDir, np.binDir]) await chown(p, user.uid, user.gid)
}

export async function hostKeyOf(
  sshKeygen: string,
  dir: string,
  host: LabHostState,
): Promise<{name: string; address: string; port: number; publicKey: string}> {
  return {
    name: host.name,
    address: host.address,
    port: host.sshPort,
    publicKey: await ensureEd25519Key(sshKeygen, nodePaths(dir, host.name).hostKey, host.name),
  }
}

export function startHostSshds(dir: string, hosts: LabHostState[], sshdBin: string): Promise<SshdStart[]> {
  return mapLimit(hosts, START_CONCURRENCY, (h) => startSshd(dir, h, sshdBin))
}

/** Stops the sshd of each host; with REMOVE also deletes its directory (hosts dropped by a smaller --hosts). */
export async function stopHosts(
  dir: string,
  hosts: LabHostState[],
  remove = false,
): Promise<('not-running' | 'stopped' | 'killed')[]> {
  return mapLimit(hosts, START_CONCURRENCY, async (h) => {
    const outcome = await stopSshd(dir, h.name)
    if (remove) await rm(nodePaths(dir, h.name).nodeDir, {recursive: true, force: true})
    return outcome
  })
}
