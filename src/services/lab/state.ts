import {readFile} from 'node:fs/promises'
import {UsageError} from '../../errors.js'
import {writeFileAtomic} from '../../core/fs.js'
import {labPaths} from './layout.js'

export interface LabNodeState {
  name: string
  address: string
  sshPort: number
  clientUrl: string
  peerUrl: string
  dataDir: string
}

/** An extra host of `lab up --hosts N`: only an sshd, role plasmavmc-host, no ChainFire member. */
export type LabHostState = Pick<LabNodeState, 'name' | 'address' | 'sshPort'>

/** DIR/lab.json: the lab's shape, fixed at the first `lab up`, plus the pids seen by the last run. */
export interface LabState {
  version: 1
  dir: string
  addressPrefix: string
  tls: boolean
  user: string
  contextName: string
  configPath: string
  clusterToken: string
  createdAt: string
  nodes: LabNodeState[]
  /** Extra hosts (`lab up --hosts N`). */
  hosts?: LabHostState[]
  /** QEMU VMs per node of the vm component (fixed when first added). */
  vmsPerHost?: number
  lastUp?: {at: string; pids: Record<string, {sshd?: number; member?: number}>}
  /** Optional components added with `lab up --with` (kept: a later `lab up` starts them too). */
  components?: string[]
  /** Settings of those components, fixed when first added. */
  componentOptions?: {flaredbHeartbeatMs?: number}
}

export async function readLabState(dir: string): Promise<LabState | undefined> {
  const file = labPaths(dir).state
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`, {file})
  }
  try {
    const state = JSON.parse(text) as LabState
    if (state.version !== 1 || !Array.isArray(state.nodes)) throw new Error('unknown format')
    return state
  } catch (error) {
    throw new UsageError(`${file} is not a plasmactl lab state file: ${(error as Error).message}`, {file})
  }
}

export async function writeLabState(state: LabState): Promise<void> {
  await writeFileAtomic(labPaths(state.dir).state, `${JSON.stringify(state, null, 2)}\n`, 0o644)
}
