import {chmod, chown, mkdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {writeFileAtomic} from '../../core/fs.js'
import {UsageError} from '../../errors.js'
import {exists} from './keys.js'
import {LAB_SSH_PORT, type LabPaths, type NodePaths, nodePaths, templatePath} from './layout.js'
import type {LabUser} from './prereqs.js'
import type {LabHostState, LabNodeState, LabState} from './state.js'

/** Fills @NAME@ placeholders; a placeholder left unfilled is a bug in the caller. */
export async function renderTemplate(name: string, values: Record<string, string>): Promise<string> {
  const file = templatePath(name)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new UsageError(`lab template ${file} is missing: ${(error as Error).message}`, {file})
  }
  const out = text.replace(/@([A-Z_]+)@/g, (m, key: string) => {
    if (!(key in values)) throw new Error(`template ${name}: no value for ${m}`)
    return values[key]
  })
  return out
}

/**
 * A lab script (templates/lab/NAME) copied to DIR/bin/NAME, readable by the lab user wherever the
 * package lives (the single executable's files sit under the operator's own home). Rewritten only
 * when it changed. Returns its path.
 */
export async function labScript(dir: string, name: string): Promise<string> {
  const target = join(dir, 'bin', name)
  const text = await readFile(templatePath(name), 'utf8')
  if ((await readFile(target, 'utf8').catch(() => undefined)) !== text) await writeFileAtomic(target, text, 0o644)
  return target
}

function shq(v: string): string {
  return `'${v.replaceAll("'", `'\\''`)}'`
}

/** The member's ETCD_* settings. Written once: later operations (member add) rewrite it on the node. */
export function chainfireEnv(state: LabState, node: LabNodeState, paths: LabPaths): string {
  const np = nodePaths(state.dir, node.name)
  const vars: [string, string][] = [
    ['ETCD_NAME', node.name],
    ['ETCD_DATA_DIR', node.dataDir],
    ['ETCD_LISTEN_CLIENT_URLS', node.clientUrl],
    ['ETCD_ADVERTISE_CLIENT_URLS', node.clientUrl],
    ['ETCD_LISTEN_PEER_URLS', node.peerUrl],
    ['ETCD_INITIAL_ADVERTISE_PEER_URLS', node.peerUrl],
    ['ETCD_INITIAL_CLUSTER', state.nodes.map((n) => `${n.name}=${n.peerUrl}`).join(',')],
    ['ETCD_INITIAL_CLUSTER_STATE', 'new'],
    ['ETCD_INITIAL_CLUSTER_TOKEN', state.clusterToken],
    ['ETCD_LOGGER', 'zap'],
    ['ETCD_LOG_OUTPUTS', 'stderr'],
  ]
  if (state.tls) {
    vars.push(
      ['ETCD_CERT_FILE', np.serverCert],
      ['ETCD_KEY_FILE', np.serverKey],
      ['ETCD_TRUSTED_CA_FILE', paths.ca],
      ['ETCD_CLIENT_CERT_AUTH', 'true'],
    )
  }
  const header = `# ChainFire member ${node.name} of the lab in ${state.dir}.\n# Sourced by bin/service; written by \`plasmactl lab up\` only when missing.\n`
  return header + vars.map(([k, v]) => `${k}=${shq(v)}`).join('\n') + '\n'
}

/** The node's directories and its sshd_config (owned by the operator: sshd runs as root and reads it). */
export async function writeSshdFiles(
  state: LabState,
  node: LabHostState,
  paths: LabPaths,
  user: LabUser,
): Promise<NodePaths> {
  const np = nodePaths(state.dir, node.name)
  for (const d of [np.nodeDir, np.binDir, np.sshdDir]) {
    await mkdir(d, {recursive: true, mode: 0o755})
    await chmod(d, 0o755)
  }
  const sshdConfig = await renderTemplate('sshd_config', {
    NODE: node.name,
    PORT: String(node.sshPort ?? LAB_SSH_PORT),
    ADDRESS: node.address,
    HOST_KEY: np.hostKey,
    PID_FILE: np.sshdPid,
    AUTHORIZED_KEYS: paths.authorizedKeys,
    USER: user.name,
  })
  await writeFileAtomic(np.sshdConfig, sshdConfig, 0o644)
  return np
}

/**
 * Creates a node's directory: sshd files owned by the operator (sshd runs as root and reads them),
 * everything else owned by the lab user, who runs the member.
 */
export async function writeNodeFiles(
  state: LabState,
  node: LabNodeState,
  paths: LabPaths,
  user: LabUser,
  etcdBin: string,
): Promise<void> {
  const np = await writeSshdFiles(state, node, paths, user)
  const service = await renderTemplate('service.sh', {NODE: node.name, NODE_DIR: np.nodeDir, ETCD_BIN: etcdBin})
  await writeFileAtomic(np.service, service, 0o755)
  if (!(await exists(np.env))) await writeFileAtomic(np.env, chainfireEnv(state, node, paths), 0o644)

  const own = async (p: string) => {
    if ((await exists(p)) && process.getuid?.() === 0) await chown(p, user.uid, user.gid)
  }
  for (const p of [np.nodeDir, np.binDir, np.service, np.env, np.tlsDir, np.serverCert, np.serverKey]) await own(p)
}
