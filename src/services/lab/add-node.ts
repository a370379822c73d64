import {chown, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {UsageError} from '../../errors.js'
import type {Reporter} from '../reporter.js'
import {ensureEd25519Key, ensureServerCert, writeKnownHosts} from './keys.js'
import {resolveConfigPath, writeLabContext} from './lab-context.js'
import {LAB_CLIENT_PORT, LAB_PEER_PORT, LAB_SSH_PORT, labPaths, nodePaths} from './layout.js'
import {writeNodeFiles} from './node-files.js'
import {ensureLabUser, findLabBinaries} from './prereqs.js'
import {resolveLabDir} from './resolve-dir.js'
import {startSshd} from './sshd.js'
import {readLabState, writeLabState, type LabNodeState} from './state.js'

export interface LabAddNodeOptions {
  name: string
  dir?: string
  context?: string
  configPath?: string
}

export interface LabAddNodeResult {
  dir: string
  node: LabNodeState
  sshd: {pid: number; started: boolean}
  context: string
}

/**
 * Gives the lab one more machine: the node's directory, its sshd (started) and its service script,
 * with the ChainFire service disabled; `plasmactl node add NAME` then joins it to the cluster as it
 * would join a freshly provisioned host. The node is written into the lab context.
 */
export async function labAddNode(opts: LabAddNodeOptions, reporter: Reporter): Promise<LabAddNodeResult> {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/.test(opts.name)) throw new UsageError(`invalid node name "${opts.name}"`)
  const dir = await resolveLabDir({
    dir: opts.dir,
    context: opts.context,
    configPath: resolveConfigPath(opts.configPath),
  })
  const state = await readLabState(dir)
  if (!state) throw new UsageError(`no lab in ${dir}`, {hint: 'start one with `plasmactl lab up`'})
  if (state.nodes.some((n) => n.name === opts.name)) throw new UsageError(`the lab already has a node ${opts.name}`)
  const used = new Set([...state.nodes, ...(state.hosts ?? [])].map((n) => Number(n.address.split('.').pop())))
  let octet = state.nodes.length + 1
  while (used.has(octet)) octet++
  if (octet > 254) throw new UsageError('no free address left in the lab prefix')
  const address = `${state.addressPrefix}.${octet}`
  const scheme = state.tls ? 'https' : 'http'
  const node: LabNodeState = {
    name: opts.name,
    address,
    sshPort: LAB_SSH_PORT,
    clientUrl: `${scheme}://${address}:${LAB_CLIENT_PORT}`,
    peerUrl: `http://${address}:${LAB_PEER_PORT}`,
    dataDir: nodePaths(dir, opts.name).dataDir,
  }
  const bins = await findLabBinaries({tls: state.tls})
  const user = await ensureLabUser(reporter)
  const paths = labPaths(dir)
  const np = nodePaths(dir, opts.name)
  state.nodes.push(node)
  if (state.tls) await ensureServerCert(bins.openssl!, paths, np, node.name, node.address)
  await writeNodeFiles(state, node, paths, user, bins.etcd)
  // Not a member yet: the service stays disabled until `node add` enables it with join settings.
  const marker = join(np.nodeDir, 'chainfire.disabled')
  await writeFile(marker, '')
  if (process.getuid?.() === 0) await chown(marker, user.uid, user.gid)
  const hostKeys = await Promise.all(
    state.nodes.map(async (n) => ({
      name: n.name,
      address: n.address,
      port: n.sshPort,
      publicKey: await ensureEd25519Key(bins.sshKeygen, nodePaths(dir, n.name).hostKey, n.name),
    })),
  )
  await writeKnownHosts(paths, hostKeys)
  await writeLabState(state)
  const sshd = await startSshd(dir, node, bins.sshd)
  await writeLabContext(state.configPath, state)
  reporter.info(
    `lab: node ${node.name} at ${address} (sshd ${sshd.pid}); join it with: plasmactl node add ${node.name}`,
  )
  return {dir, node, sshd, context: state.contextName}
}
