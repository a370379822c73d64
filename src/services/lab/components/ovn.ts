import {access} from 'node:fs/promises'
import {join} from 'node:path'
import {queryServer} from '../../../adapters/ovsdb/index.js'
import {OperationError} from '../../../errors.js'
import {
  componentDir,
  labUserDir,
  livePid,
  runChecked,
  serviceCommands,
  serviceVerb,
  shq,
  stopByPidFile,
  writeServiceScript,
} from './service-script.js'
import type {LabComponent, LabComponentProcess, LabState} from './types.js'
import {compareText} from '../../../core/compare.js'

/**
 * A clustered (Raft) OVN Northbound DB on the first three lab nodes: real ovsdb-server processes,
 * created with ovsdb-tool create-cluster on the first and join-cluster on the others.
 */
export const OVN_NB_PORT = 6641
export const OVN_NB_RAFT_PORT = 6643
const SERVICE = 'ovn-nb'
const NB_SCHEMA_CANDIDATES = ['/usr/share/ovn/ovn-nb.ovsschema', '/usr/local/share/ovn/ovn-nb.ovsschema']

export function ovnPaths(state: LabState, node: string) {
  const dir = componentDir(state, node, 'ovn')
  return {dir, db: join(dir, 'nb.db'), pid: join(dir, 'nb.pid'), ctl: join(dir, 'nb.ctl'), log: join(dir, 'nb.log')}
}

function ovnNodes(state: LabState) {
  return state.nodes.slice(0, 3)
}

export const ovnRemote = (address: string) => `tcp:${address}:${OVN_NB_PORT}`
const raftRemote = (address: string) => `tcp:${address}:${OVN_NB_RAFT_PORT}`

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  )
}

async function schemaPath(): Promise<string> {
  for (const p of NB_SCHEMA_CANDIDATES) if (await exists(p)) return p
  throw new OperationError('the OVN Northbound schema (ovn-nb.ovsschema) is not installed', {
    hint: 'apt-get install -y --no-install-recommends ovn-central',
  })
}

async function waitForLeader(state: LabState, timeoutMs: number): Promise<void> {
  const remotes = ovnNodes(state).map((n) => ovnRemote(n.address))
  const deadline = Date.now() + timeoutMs
  let last = ''
  for (;;) {
    const infos = await Promise.all(
      remotes.map((r) => queryServer(r, {timeoutMs: 1000, retries: 0}).catch((error: Error) => error)),
    )
    const rows = infos.map((i) =>
      i instanceof Error ? undefined : i.databases.find((d) => d.name === 'OVN_Northbound'),
    )
    if (rows.every((r) => r?.connected) && rows.some((r) => r?.leader)) return
    last = infos
      .map(
        (i, k) =>
          `${remotes[k]}: ${i instanceof Error ? i.message : rows[k]?.connected ? 'connected' : 'not connected'}`,
      )
      .join('; ')
    if (Date.now() > deadline)
      throw new OperationError(`the lab's OVN Northbound cluster has no leader after ${timeoutMs / 1000} s (${last})`, {
        file: ovnPaths(state, ovnNodes(state)[0].name).log,
      })
    await new Promise((r) => setTimeout(r, 150))
  }
}

export const ovnComponent: LabComponent = {
  name: 'ovn',
  description: 'clustered OVN Northbound DB (ovsdb-server) on three nodes',
  programs: {'ovsdb-server': 'ovn-central', 'ovsdb-tool': 'ovn-central'},

  async up({state, user, bins, reporter}) {
    const nodes = ovnNodes(state)
    const schema = await schemaPath()
    const [first] = nodes
    const out: LabComponentProcess[] = []
    for (const [i, n] of nodes.entries()) {
      const p = ovnPaths(state, n.name)
      await labUserDir(p.dir, user)
      if (!(await exists(p.db))) {
        if (i === 0)
          await runChecked(
            state,
            bins['ovsdb-tool'],
            ['create-cluster', p.db, schema, raftRemote(n.address)],
            `ovsdb-tool create-cluster on ${n.name}`,
          )
        else
          await runChecked(
            state,
            bins['ovsdb-tool'],
            ['join-cluster', p.db, 'OVN_Northbound', raftRemote(n.address), raftRemote(first.address)],
            `ovsdb-tool join-cluster on ${n.name}`,
          )
      }
      const start = [
        bins['ovsdb-server'],
        `--remote=ptcp:${OVN_NB_PORT}:${n.address}`,
        `--unixctl=${p.ctl}`,
        `--pidfile=${p.pid}`,
        `--log-file=${p.log}`,
        '--detach',
        '--no-chdir',
        p.db,
      ]
        .map(shq)
        .join(' ')
      await writeServiceScript(state, user, {
        service: SERVICE,
        node: n.name,
        comm: 'ovsdb-server',
        pidFile: p.pid,
        logFile: p.log,
        start: `${start} >>"$LOG_FILE" 2>&1`,
      })
    }
    // Started together: the joining members find the first one whichever comes up first.
    await Promise.all(
      nodes.map(async (n) => {
        const p = ovnPaths(state, n.name)
        const running = await livePid(p.pid, 'ovsdb-server')
        if (!running) await serviceVerb(state, n.name, SERVICE, 'start')
        out.push({
          component: 'ovn',
          node: n.name,
          service: SERVICE,
          pid: await livePid(p.pid, 'ovsdb-server'),
          outcome: running ? 'running' : 'started',
          endpoint: ovnRemote(n.address),
        })
      }),
    )
    reporter.info(`lab: OVN Northbound DB on ${nodes.map((n) => n.name).join(', ')}; waiting for a Raft leader`)
    await waitForLeader(state, 30_000)
    return out.sort((a, b) => compareText(a.node, b.node))
  },

  async down(state) {
    return Promise.all(
      ovnNodes(state).map(async (n) => ({
        component: 'ovn',
        node: n.name,
        service: SERVICE,
        outcome: await stopByPidFile(ovnPaths(state, n.name).pid, 'ovsdb-server'),
      })),
    )
  },

  context(state) {
    const nodes = ovnNodes(state)
    return {
      sections: {
        prismnet: {nb: nodes.map((n) => ovnRemote(n.address))},
        services: {[SERVICE]: {...serviceCommands(state, SERVICE), unit: SERVICE}},
      },
      roles: Object.fromEntries(nodes.map((n) => [n.name, ['prismnet' as const]])),
    }
  },
}
