#!/usr/bin/env node
// plasmactl lab: a FlareDB store stand-in. Serves the standard gRPC health service
// (grpc.health.v1.Health/Check → SERVING) and writes a PD heartbeat into ChainFire every interval:
//   /flaredb/stores/<id> = {"id","node","address","state":"up","lastHeartbeat": ISO time}
// Configured by the environment (see src/services/lab/components/flaredb.ts); writes PID_FILE once it
// serves. SIGTERM/SIGINT: stop serving and exit.
import {readFileSync, renameSync, writeFileSync} from 'node:fs'
import {request as httpRequest} from 'node:http'
import {request as httpsRequest} from 'node:https'

// GRPC_JS: node_modules' grpc-js, or the single executable's bundled copy (CommonJS: its default export).
const grpcModule = await import(process.env.GRPC_JS ?? '@grpc/grpc-js')
const grpc = grpcModule.Server ? grpcModule : grpcModule.default
const env = (k, d) => process.env[k] ?? d ?? (() => { throw new Error(`missing ${k}`) })()
const id = env('STORE_ID')
const node = env('STORE_NODE')
const listen = env('STORE_LISTEN')
const etcd = env('CHAINFIRE_URLS').split(',')
const heartbeatMs = Number(env('HEARTBEAT_MS', '10000'))
const pidFile = env('PID_FILE')
const tls = process.env.TLS_CA ? {ca: readFileSync(process.env.TLS_CA), cert: readFileSync(process.env.TLS_CERT), key: readFileSync(process.env.TLS_KEY)} : undefined

const log = (msg) => process.stderr.write(`${new Date().toISOString()} store ${id}: ${msg}\n`)

function put(url, key, value) {
  const body = JSON.stringify({key: Buffer.from(key).toString('base64'), value: Buffer.from(value).toString('base64')})
  const u = new URL('/v3/kv/put', url)
  return new Promise((resolve, reject) => {
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, {method: 'POST', timeout: 2000, headers: {'content-type': 'application/json'}, ...(tls ?? {})}, (res) => {
      res.resume()
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
    req.end(body)
  })
}

let next = 0
async function heartbeat() {
  const record = JSON.stringify({id, node, address: listen, state: 'up', lastHeartbeat: new Date().toISOString()})
  for (let i = 0; i < etcd.length; i++) {
    const url = etcd[(next + i) % etcd.length]
    try {
      await put(url, `/flaredb/stores/${id}`, record)
      next = (next + i) % etcd.length
      return
    } catch (error) {
      log(`heartbeat to ${url} failed: ${error.message}`)
    }
  }
}

const server = new grpc.Server()
const health = {
  Check: {
    path: '/grpc.health.v1.Health/Check', requestStream: false, responseStream: false,
    requestDeserialize: (b) => b, requestSerialize: (b) => b,
    responseSerialize: (status) => Buffer.from([0x08, status]), responseDeserialize: (b) => b,
  },
}
server.addService(health, {Check: (_call, cb) => cb(null, 1)})
server.bindAsync(listen, grpc.ServerCredentials.createInsecure(), async (err) => {
  if (err) {
    log(`cannot listen on ${listen}: ${err.message}`)
    process.exit(1)
  }
  await heartbeat()
  setInterval(heartbeat, heartbeatMs)
  writeFileSync(`${pidFile}.tmp`, `${process.pid}\n`)
  renameSync(`${pidFile}.tmp`, pidFile)
  log(`serving grpc.health.v1 on ${listen}; heartbeat every ${heartbeatMs} ms`)
})
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.tryShutdown(() => process.exit(0)))
