import {randomBytes} from 'node:crypto'
import {chmod, mkdir, stat} from 'node:fs/promises'
import {dirname} from 'node:path'
import {isSea} from 'node:sea'
import {SshConnections} from '../../adapters/ssh/index.js'
import {OperationError, UsageError} from '../../errors.js'
import type {Reporter} from '../reporter.js'
import {loadTls, probeHealth, type TlsMaterial} from './health.js'
import {ensureClientKey, ensureEd25519Key, ensureLabCa, ensureServerCert, writeKnownHosts} from './keys.js'
import {which} from '../../adapters/exec/index.js'
import {componentContext, loadLabComponents, type LabComponentProcess} from './components/index.js'
import {assertLabContextWritable, resolveConfigPath, takeFirstSnapshot, writeLabContext} from './lab-context.js'
import {
  DEFAULT_ADDRESS_PREFIX,
  DEFAULT_CONTEXT_NAME,
  defaultLabDir,
  isRoot,
  LAB_CLIENT_PORT,
  LAB_PEER_PORT,
  LAB_SSH_PORT,
  labPaths,
  nodePaths,
} from './layout.js'
import {memberDisabled, memberPid, startMemberOverSsh} from './member.js'
import {writeNodeFiles} from './node-files.js'
import {ensureLabUser, findLabBinaries, type LabUser} from './prereqs.js'
import {startSshd, type SshdStart} from './sshd.js'
import {hostKeyOf, planHosts, startHostSshds, stopHosts, validateHostCount, writeHostFiles} from './hosts.js'
import {resolveLabDir} from './resolve-dir.js'
import {readLabState, writeLabState, type LabNodeState, type LabState} from './state.js'

export interface LabUpOptions {
  dir?: string
  nodes?: number
  addressPrefix?: string
  tls?: boolean
  contextName?: string
  /** The selected context (--context / PLASMACTL_CONTEXT): its lab is the one brought up. */
  context?: string
  configPath?: string
  /** How long to wait for a leader (default 60 s). */
  waitMs?: number
  /** Optional components to add (ovn, flaredb, iam); added ones stay part of the lab. */
  with?: string[]
  /** FlareDB stores' heartbeat interval (default 10 s), fixed when flaredb is first added. */
  flaredbHeartbeatMs?: number
  /** QEMU VMs per node with `--with vm` (default 2; an existing lab keeps its number). */
  vmsPerHost?: number
  /** Extra hosts running only an sshd (role plasmavmc-host), 0..100; an existing lab keeps its number. */
  hosts?: number
}

export interface LabUpHost {
  name: string
  address: string
  sshPort: number
  sshd: SshdStart
}

export interface LabUpNode {
  name: string
  address: string
  sshPort: number
  clientUrl: string
  sshd: {pid: number; started: boolean}
  member: {pid: number; started: boolean}
  healthy: boolean
}

export interface LabUpResult {
  dir: string
  context: string
  configPath: string
  user: string
  tls: boolean
  addressPrefix: string
  nodes: LabUpNode[]
  /** The extra hosts (lab up --hosts N). */
  hosts: LabUpHost[]
  started: {sshd: number; members: number}
  /** Processes of the optional components (lab up --with). */
  components: LabComponentProcess[]
  elapsedMs: number
}

const PREFIX_RE = /^127\.(\d{1,3})\.(\d{1,3})$/

function conflict(what: string, have: unknown, want: unknown, dir: string): UsageError {
  return new UsageError(`the lab in ${dir} was created with ${what} ${String(have)}, not ${String(want)}`, {
    hint: `keep ${what} as it is, or recreate the lab: plasmactl lab down --purge --dir ${dir}`,
  })
}

function validateOptions(opts: LabUpOptions): void {
  if (opts.nodes !== undefined && opts.nodes !== 3 && opts.nodes !== 5)
    throw new UsageError(`--nodes must be 3 or 5, not ${opts.nodes}`)
  const prefix = opts.addressPrefix
  const m = prefix === undefined ? undefined : PREFIX_RE.exec(prefix)
  if (prefix !== undefined && (!m || Number(m[1]) > 255 || Number(m[2]) > 255)) {
    throw new UsageError(
      `--address-prefix "${prefix}" must be three octets of a loopback address, like ${DEFAULT_ADDRESS_PREFIX}`,
    )
  }
  validateHostCount(opts.hosts)
}

/** Decides the lab's shape: flags for a new lab; for an existing one, flags must agree with it. */
function planState(dir: string, existing: LabState | undefined, opts: LabUpOptions, user: LabUser): LabState {
  if (existing) {
    if (opts.nodes !== undefined && opts.nodes !== existing.nodes.length)
      throw conflict('--nodes', existing.nodes.length, opts.nodes, dir)
    if (opts.addressPrefix !== undefined && opts.addressPrefix !== existing.addressPrefix)
      throw conflict('--address-prefix', existing.addressPrefix, opts.addressPrefix, dir)
    if (opts.tls !== undefined && opts.tls !== existing.tls) throw conflict('--tls', existing.tls, opts.tls, dir)
    if (existing.user !== user.name)
      throw new UsageError(`the lab in ${dir} belongs to user ${existing.user}, not ${user.name}`)
    return {...existing, contextName: opts.contextName ?? existing.contextName}
  }
  const count = opts.nodes ?? 3
  const prefix = opts.addressPrefix ?? DEFAULT_ADDRESS_PREFIX
  const tls = opts.tls ?? false
  const scheme = tls ? 'https' : 'http'
  const nodes: LabNodeState[] = Array.from({length: count}, (_, i) => {
    const name = `n${i + 1}`
    const address = `${prefix}.${i + 1}`
    return {
      name,
      address,
      sshPort: LAB_SSH_PORT,
      clientUrl: `${scheme}://${address}:${LAB_CLIENT_PORT}`,
      peerUrl: `http://${address}:${LAB_PEER_PORT}`,
      dataDir: nodePaths(dir, name).dataDir,
    }
  })
  return {
    version: 1,
    dir,
    addressPrefix: prefix,
    tls,
    user: user.name,
    contextName: opts.contextName ?? DEFAULT_CONTEXT_NAME,
    configPath: resolveConfigPath(opts.configPath),
    clusterToken: `plasmactl-lab-${randomBytes(6).toString('hex')}`,
    createdAt: new Date().toISOString(),
    nodes,
  }
}

/** As root, the lab user must be able to reach the lab dir: every ancestor needs the x bit for it. */
async function checkTraversable(dir: string, user: LabUser): Promise<void> {
  if (!isRoot() || user.uid === 0) return
  for (let p = dir; ; p = dirname(p)) {
    const st = await stat(p)
    const ok = st.uid === user.uid || (st.gid === user.gid ? st.mode & 0o010 : st.mode & 0o001)
    if (!ok) {
      throw new UsageError(
        `the lab user ${user.name} cannot enter ${p} (mode ${(st.mode & 0o777).toString(8)}), so its nodes cannot reach ${dir}`,
        {
          file: p,
          hint: `pick a --dir outside it (default ${defaultLabDir()}), or chmod o+x ${p}`,
        },
      )
    }
    if (p === dirname(p)) return
  }
}

async function waitForLeader(
  state: LabState,
  tls: TlsMaterial | undefined,
  waitMs: number,
  reporter: Reporter,
): Promise<Map<string, boolean>> {
  const deadline = Date.now() + waitMs
  let last: {name: string; ok: boolean; error?: string}[] = []
  for (;;) {
    last = await Promise.all(
      state.nodes.map(async (n) => ({name: n.name, ...(await probeHealth(n.clientUrl, tls, 1000))})),
    )
    if (last.every((h) => h.ok)) return new Map(last.map((h) => [h.name, true]))
    if (Date.now() >= deadline) break
    await new Promise((r) => setTimeout(r, 150))
  }
  const bad = last.filter((h) => !h.ok)
  reporter.debug(`unhealthy: ${JSON.stringify(bad)}`)
  throw new OperationError(
    `the lab's ChainFire cluster has no leader after ${Math.round(waitMs / 1000)} s (${bad.map((b) => `${b.name}: ${b.error}`).join('; ')})`,
    {
      endpoint: state.nodes.find((n) => n.name === bad[0]?.name)?.clientUrl,
      hint: `see ${labPaths(state.dir).nodesDir}/<node>/chainfire.log, or run plasmactl lab status`,
    },
  )
}

/** Brings the lab up: creates what is missing, starts what is down, waits for a leader, writes the context. */
export async function labUp(opts: LabUpOptions, reporter: Reporter): Promise<LabUpResult> {
  const t0 = Date.now()
  validateOptions(opts)
  const configPath = resolveConfigPath(opts.configPath)
  // Without --dir, `lab up` finds the lab as `lab status` and `lab down` do: through the selected context.
  const dir = await resolveLabDir({
    dir: opts.dir,
    context: opts.context,
    configPath,
    writing: opts.contextName ?? DEFAULT_CONTEXT_NAME,
  })
  const existing = await readLabState(dir)
  const tlsWanted = opts.tls ?? existing?.tls ?? false
  const bins = await findLabBinaries({tls: tlsWanted})
  const user = await ensureLabUser(reporter)
  // The selected context is the one written (a lab made under another name keeps its own otherwise).
  const state = planState(dir, existing, {...opts, contextName: opts.contextName ?? opts.context}, user)
  if (opts.vmsPerHost !== undefined) state.vmsPerHost = opts.vmsPerHost
  const hostsBefore = state.hosts ?? []
  state.hosts = planHosts(state.addressPrefix, opts.hosts ?? hostsBefore.length, hostsBefore)
  if (opts.configPath) state.configPath = configPath
  state.components = [...new Set([...(state.components ?? []), ...(opts.with ?? [])])]
  if (state.components.includes('flaredb'))
    state.componentOptions = {flaredbHeartbeatMs: opts.flaredbHeartbeatMs ?? 10_000, ...state.componentOptions}
  const components = await loadLabComponents(state.components)
  const componentBins = await findComponentPrograms(components.flatMap((c) => Object.entries(c.programs)))
  await assertLabContextWritable(state.configPath, state)
  const paths = labPaths(dir)

  await mkdir(dir, {recursive: true, mode: 0o755})
  await chmod(dir, 0o755)
  await checkTraversable(dir, user)
  await mkdir(paths.nodesDir, {recursive: true, mode: 0o755})
  const extra =
    state.hosts.length > 0
      ? ` + ${state.hosts.length} hosts (${state.hosts[0].address}-${state.hosts.at(-1)!.address.split('.').pop()})`
      : ''
  reporter.info(
    `lab: ${existing ? 'checking' : 'creating'} ${state.nodes.length} nodes in ${dir} (${state.addressPrefix}.1-${state.nodes.length}${extra}, user ${user.name})`,
  )

  await ensureClientKey(bins.sshKeygen, paths)
  if (state.tls) await ensureLabCa(bins.openssl!, paths)
  const hostKeys = await Promise.all(
    state.nodes.map(async (n) => {
      const np = nodePaths(dir, n.name)
      if (state.tls) await ensureServerCert(bins.openssl!, paths, np, n.name, n.address)
      await writeNodeFiles(state, n, paths, user, bins.etcd)
      return {
        name: n.name,
        address: n.address,
        port: n.sshPort,
        publicKey: await ensureEd25519Key(bins.sshKeygen, np.hostKey, n.name),
      }
    }),
  )
  for (const h of state.hosts) await writeHostFiles(state, h, paths, user)
  hostKeys.push(...(await Promise.all(state.hosts.map((h) => hostKeyOf(bins.sshKeygen, dir, h)))))
  await writeKnownHosts(paths, hostKeys)
  // A smaller --hosts drops the last hosts: their sshd stops and their directory goes.
  await stopHosts(dir, hostsBefore.slice(state.hosts.length), true)
  // Written before anything starts, so `lab down` can clean up after a failed `lab up`.
  await writeLabState(state)

  const sshds = await Promise.all(state.nodes.map((n) => startSshd(dir, n, bins.sshd)))
  const hostSshds = await startHostSshds(dir, state.hosts, bins.sshd)
  const startedSshd = [...sshds, ...hostSshds].filter((s) => s.started).length
  if (startedSshd > 0) reporter.info(`lab: started ${startedSshd} sshd${startedSshd > 1 ? 's' : ''}`)

  const ssh = new SshConnections()
  let members: {pid: number; started: boolean}[]
  try {
    members = await Promise.all(
      state.nodes.map(async (n) => {
        const pid = await memberPid(dir, n.name)
        if (pid) return {pid, started: false}
        // A disabled member (removed from the cluster, or added but not yet joined) stays down.
        if (await memberDisabled(dir, n.name)) return {pid: 0, started: false}
        reporter.debug(`lab: starting member ${n.name} over ssh ${user.name}@${n.address}:${n.sshPort}`)
        return {pid: await startMemberOverSsh(ssh, state, n), started: true}
      }),
    )
  } finally {
    await ssh.closeAll()
  }
  const startedMembers = members.filter((m) => m.started).length
  if (startedMembers > 0)
    reporter.info(
      `lab: started ${startedMembers} ChainFire member${startedMembers > 1 ? 's' : ''} through their sshd; waiting for a leader`,
    )

  const tls = state.tls ? await loadTls({ca: paths.ca, cert: paths.clientCert, key: paths.clientKey}) : undefined
  const enabled = state.nodes.filter((_n, i) => members[i].pid !== 0)
  const healthy = await waitForLeader({...state, nodes: enabled}, tls, opts.waitMs ?? 60_000, reporter)

  const componentProcs: LabComponentProcess[] = []
  for (const c of components) {
    componentProcs.push(
      ...(await c.up({
        state,
        user,
        reporter,
        bins: componentBins,
        chainfire: {
          urls: state.nodes.map((n) => n.clientUrl),
          tls: state.tls ? {ca: paths.ca, cert: paths.clientCert, key: paths.clientKey} : undefined,
        },
      })),
    )
  }

  await writeLabContext(state.configPath, state, await componentContext(state))
  await takeFirstSnapshot(state.configPath, state, reporter)
  state.lastUp = {
    at: new Date().toISOString(),
    pids: Object.fromEntries([
      ...state.nodes.map((n, i) => [n.name, {sshd: sshds[i].pid, member: members[i].pid}]),
      ...state.hosts.map((h, i) => [h.name, {sshd: hostSshds[i].pid}]),
    ]),
  }
  await writeLabState(state)
  reporter.info(`lab: up; context "${state.contextName}" written to ${state.configPath} and made current`)

  return {
    dir,
    context: state.contextName,
    configPath: state.configPath,
    user: user.name,
    tls: state.tls,
    addressPrefix: state.addressPrefix,
    nodes: state.nodes.map((n, i) => ({
      name: n.name,
      address: n.address,
      sshPort: n.sshPort,
      clientUrl: n.clientUrl,
      sshd: sshds[i],
      member: members[i],
      healthy: healthy.get(n.name) ?? false,
    })),
    hosts: state.hosts.map((h, i) => ({name: h.name, address: h.address, sshPort: h.sshPort, sshd: hostSshds[i]})),
    started: {sshd: startedSshd, members: startedMembers},
    components: componentProcs,
    elapsedMs: Date.now() - t0,
  }
}

/** Finds the components' programs; one error lists every missing one with its Debian package. */
async function findComponentPrograms(programs: [string, string][]): Promise<Record<string, string>> {
  const found: Record<string, string> = {}
  const missing: [string, string][] = []
  for (const [name, pkg] of programs) {
    // This Node, unless this is the single executable (no Node for scripts): then PATH's.
    const p = name === 'node' && !isSea() ? process.execPath : await which(name)
    if (p) found[name] = p
    else missing.push([name, pkg])
  }
  if (missing.length > 0) {
    throw new UsageError(
      `the lab components need ${missing.map(([n, p]) => `${n} (Debian package ${p})`).join(', ')}, not found on PATH`,
      {
        hint: `install with: apt-get install -y --no-install-recommends ${[...new Set(missing.map(([, p]) => p))].join(' ')}`,
      },
    )
  }
  return found
}
