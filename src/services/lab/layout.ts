import {dirname, join, resolve} from 'node:path'
import {isSea} from 'node:sea'
import {fileURLToPath} from 'node:url'
import {stateDir} from '../../config/paths.js'

/**
 * Where everything of a lab lives. One directory per lab; nothing outside it except the lab user.
 *
 *   DIR/lab.json                    the lab's shape and last known pids (written by lab up)
 *   DIR/ssh/                        id_ed25519(.pub) client key, authorized_keys, known_hosts
 *   DIR/tls/                        ca, client cert (with --tls)
 *   DIR/nodes/nX/                   owned by the lab user: chainfire.env, chainfire.pid, chainfire.log,
 *                                   data/ (etcd data dir), bin/service, tls/ (server cert)
 *   DIR/nodes/nX/sshd/              owned by the operator: sshd_config, host key, sshd.pid, sshd.log
 */
export const LAB_SSH_PORT = 2222
export const LAB_CLIENT_PORT = 2379
export const LAB_PEER_PORT = 2380
export const LAB_USER = 'plasmalab'
export const DEFAULT_ADDRESS_PREFIX = '127.0.10'
export const DEFAULT_CONTEXT_NAME = 'lab'

/** The cgroup v2 hierarchy (hybrid mode mounts it here) under which each lab node's sshd gets its own group. */
export const CGROUP2_ROOT = '/sys/fs/cgroup/unified'

/** A lab node's cgroup (relative to CGROUP2_ROOT, as `iptables -m cgroup --path` wants it): one per address. */
export function labNodeCgroup(address: string): string {
  return `plasmactl-lab/${address}`
}

export function isRoot(): boolean {
  return process.getuid?.() === 0
}

/** Root: /var/lib/plasmactl/lab (the lab user cannot traverse /root); others: $XDG_STATE_HOME/plasmactl/lab. */
export function defaultLabDir(): string {
  return isRoot() ? '/var/lib/plasmactl/lab' : join(stateDir(), 'lab')
}

export function labPaths(dir: string) {
  const root = resolve(dir)
  return {
    dir: root,
    state: join(root, 'lab.json'),
    sshDir: join(root, 'ssh'),
    identity: join(root, 'ssh', 'id_ed25519'),
    authorizedKeys: join(root, 'ssh', 'authorized_keys'),
    knownHosts: join(root, 'ssh', 'known_hosts'),
    tlsDir: join(root, 'tls'),
    ca: join(root, 'tls', 'ca.pem'),
    caKey: join(root, 'tls', 'ca-key.pem'),
    clientCert: join(root, 'tls', 'client.pem'),
    clientKey: join(root, 'tls', 'client-key.pem'),
    nodesDir: join(root, 'nodes'),
  }
}

export type LabPaths = ReturnType<typeof labPaths>

export function nodePaths(dir: string, node: string) {
  const nodeDir = join(resolve(dir), 'nodes', node)
  return {
    nodeDir,
    env: join(nodeDir, 'chainfire.env'),
    memberPid: join(nodeDir, 'chainfire.pid'),
    memberLog: join(nodeDir, 'chainfire.log'),
    dataDir: join(nodeDir, 'data'),
    binDir: join(nodeDir, 'bin'),
    service: join(nodeDir, 'bin', 'service'),
    tlsDir: join(nodeDir, 'tls'),
    serverCert: join(nodeDir, 'tls', 'server.pem'),
    serverKey: join(nodeDir, 'tls', 'server-key.pem'),
    sshdDir: join(nodeDir, 'sshd'),
    sshdConfig: join(nodeDir, 'sshd', 'sshd_config'),
    hostKey: join(nodeDir, 'sshd', 'ssh_host_ed25519_key'),
    sshdPid: join(nodeDir, 'sshd', 'sshd.pid'),
    sshdLog: join(nodeDir, 'sshd', 'sshd.log'),
  }
}

export type NodePaths = ReturnType<typeof nodePaths>

/** The service command template for the context ({node} is substituted by serviceCommand()). */
export function serviceTemplate(dir: string, verb: string): string {
  return `${join(resolve(dir), 'nodes', '{node}', 'bin', 'service')} chainfire ${verb}`
}

/** templates/lab/ of the package (same depth from src/ and dist/). */
export function templatePath(name: string): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'templates', 'lab', name)
}

/**
 * The Node for a lab script the operator's side runs later (the IAM token command): this process's
 * Node on the npm path; the single executable runs no scripts, so there `node` from PATH.
 */
export function labScriptNode(): string {
  return isSea() ? 'node' : process.execPath
}

/** The process name (comm) of the lab's script stand-ins, started by the `node` lab up found. */
export const LAB_SCRIPT_COMM = 'node'
