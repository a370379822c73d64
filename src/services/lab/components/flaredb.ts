import {createRequire} from 'node:module'
import {join} from 'node:path'
import {isSea} from 'node:sea'
import {pathToFileURL} from 'node:url'
import {ChainfireClient} from '../../../adapters/chainfire/index.js'
import {OperationError} from '../../../errors.js'
import {LAB_SCRIPT_COMM} from '../layout.js'
import {labScript} from '../node-files.js'
import {
  componentDir,
  labUserDir,
  livePid,
  serviceCommands,
  serviceVerb,
  shq,
  stopByPidFile,
  writeServiceScript,
} from './service-script.js'
import type {LabComponent, LabComponentProcess, LabState} from './types.js'
import {compareText} from '../../../core/compare.js'

/**
 * FlareDB store stand-ins: on every node a real process (templates/lab/flaredb-store.mjs) that serves
 * the standard gRPC health service and heartbeats into ChainFire; the lab plays the PD once and
 * writes region placement (3 replicas per region) under /flaredb/regions/.
 */
export const FLAREDB_PORT = 20160
export const LAB_REGIONS = 4
const SERVICE = 'flaredb'

export function flaredbPaths(state: LabState, node: string) {
  const dir = componentDir(state, node, 'flaredb')
  return {dir, pid: join(dir, 'store.pid'), log: join(dir, 'store.log')}
}

const comm = () => LAB_SCRIPT_COMM
export const storeId = (state: LabState, node: string) => String(state.nodes.findIndex((n) => n.name === node) + 1)

export const flaredbComponent: LabComponent = {
  name: 'flaredb',
  description: 'a FlareDB store per node (gRPC health + heartbeats into ChainFire) and region placement',
  programs: {node: 'nodejs'},

  async up({state, user, bins, chainfire, reporter}) {
    const heartbeatMs = state.componentOptions?.flaredbHeartbeatMs ?? 10_000
    // @grpc/grpc-js for the store: node_modules' on the npm path; the single executable ships one
    // bundled copy beside the template (scripts/build-exe.mjs).
    const grpcJs = isSea()
      ? pathToFileURL(await labScript(state.dir, 'grpc-js.cjs')).href
      : pathToFileURL(createRequire(import.meta.url).resolve('@grpc/grpc-js')).href
    const storeScript = await labScript(state.dir, 'flaredb-store.mjs')
    const out: LabComponentProcess[] = []
    for (const n of state.nodes) {
      const p = flaredbPaths(state, n.name)
      await labUserDir(p.dir, user)
      const env: Record<string, string> = {
        GRPC_JS: grpcJs,
        STORE_ID: storeId(state, n.name),
        STORE_NODE: n.name,
        STORE_LISTEN: `${n.address}:${FLAREDB_PORT}`,
        CHAINFIRE_URLS: chainfire.urls.join(','),
        HEARTBEAT_MS: String(heartbeatMs),
        PID_FILE: p.pid,
        ...(chainfire.tls ? {TLS_CA: chainfire.tls.ca, TLS_CERT: chainfire.tls.cert, TLS_KEY: chainfire.tls.key} : {}),
      }
      const envArgs = Object.entries(env)
        .map(([k, v]) => shq(`${k}=${v}`))
        .join(' ')
      const start = `env ${envArgs} setsid ${shq(bins.node)} ${shq(storeScript)} </dev/null >>"$LOG_FILE" 2>&1 &`
      await writeServiceScript(state, user, {
        service: SERVICE,
        node: n.name,
        comm: comm(),
        pidFile: p.pid,
        logFile: p.log,
        start,
      })
    }
    await Promise.all(
      state.nodes.map(async (n) => {
        const p = flaredbPaths(state, n.name)
        const running = await livePid(p.pid, comm())
        if (!running) await serviceVerb(state, n.name, SERVICE, 'start')
        out.push({
          component: 'flaredb',
          node: n.name,
          service: SERVICE,
          pid: await livePid(p.pid, comm()),
          outcome: running ? 'running' : 'started',
          endpoint: `${n.address}:${FLAREDB_PORT}`,
        })
      }),
    )
    // The PD's placement, written once: a later lab up never undoes what an operator or test changed.
    const client = new ChainfireClient({endpoints: chainfire.urls.map((url) => ({name: url, url})), tls: chainfire.tls})
    try {
      const existing = await client.getPrefix('/flaredb/regions/', {count_only: true})
      if (existing.count === 0) {
        const ids = state.nodes.map((n) => storeId(state, n.name))
        for (let r = 0; r < LAB_REGIONS; r++) {
          const replicas = [0, 1, 2].map((k) => ids[(r + k) % ids.length])
          await client.put(
            `/flaredb/regions/${r + 1}`,
            JSON.stringify({id: String(r + 1), replicas, leader: replicas[0]}),
          )
        }
      }
    } catch (error) {
      throw new OperationError(`writing the lab's FlareDB regions into ChainFire failed: ${(error as Error).message}`)
    } finally {
      client.close()
    }
    reporter.info(
      `lab: ${state.nodes.length} FlareDB stores (heartbeat every ${heartbeatMs} ms), ${LAB_REGIONS} regions with 3 replicas`,
    )
    return out.sort((a, b) => compareText(a.node, b.node))
  },

  async down(state) {
    return Promise.all(
      state.nodes.map(async (n) => ({
        component: 'flaredb',
        node: n.name,
        service: SERVICE,
        outcome: await stopByPidFile(flaredbPaths(state, n.name).pid, comm()),
      })),
    )
  },

  context(state) {
    return {
      sections: {
        flaredb: {'heartbeat-interval': `${state.componentOptions?.flaredbHeartbeatMs ?? 10_000}ms`},
        services: {[SERVICE]: {...serviceCommands(state, SERVICE), unit: SERVICE}},
      },
      roles: Object.fromEntries(state.nodes.map((n) => [n.name, ['flaredb' as const]])),
    }
  },
}
