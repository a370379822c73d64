import {generateKeyPairSync} from 'node:crypto'
import {access, mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import {writeFileAtomic} from '../../../core/fs.js'
import {LAB_SCRIPT_COMM, labScriptNode, templatePath} from '../layout.js'
import {labScript} from '../node-files.js'
import {
  componentDir,
  labUserDir,
  labUserFile,
  livePid,
  serviceCommands,
  serviceVerb,
  shq,
  stopByPidFile,
  writeServiceScript,
} from './service-script.js'
import type {LabComponent, LabState} from './types.js'

/**
 * An IAM stand-in on the first node: a real HTTP server process (templates/lab/iam-server.mjs)
 * serving /health and the JWKS of a key pair generated here. The lab context gets a token-command
 * that signs fresh tokens with that key (templates/lab/iam-token.mjs).
 */
export const IAM_PORT = 8480
const SERVICE = 'iam'
export const LAB_KID = 'lab-1'

export function iamPaths(state: LabState) {
  const node = state.nodes[0].name
  const dir = componentDir(state, node, 'iam')
  const secrets = join(state.dir, 'iam')
  return {
    node,
    dir,
    pid: join(dir, 'iam.pid'),
    log: join(dir, 'iam.log'),
    jwks: join(dir, 'jwks.json'),
    secrets,
    signingKey: join(secrets, 'signing-key.pem'),
  }
}

export const iamUrl = (state: LabState) => `http://${state.nodes[0].address}:${IAM_PORT}`
const comm = () => LAB_SCRIPT_COMM

export const iamComponent: LabComponent = {
  name: 'iam',
  description: 'an IAM endpoint (health + JWKS) with a generated key pair, and a token-command for the CLI',
  programs: {node: 'nodejs'},

  async up({state, user, bins}) {
    const p = iamPaths(state)
    await labUserDir(p.dir, user)
    await mkdir(p.secrets, {recursive: true, mode: 0o700})
    if (
      !(await access(p.signingKey).then(
        () => true,
        () => false,
      ))
    ) {
      const {privateKey, publicKey} = generateKeyPairSync('rsa', {modulusLength: 2048})
      await writeFileAtomic(p.signingKey, privateKey.export({type: 'pkcs8', format: 'pem'}).toString(), 0o600)
      const jwk = {...publicKey.export({format: 'jwk'}), kid: LAB_KID, alg: 'RS256', use: 'sig'}
      await labUserFile(p.jwks, `${JSON.stringify({keys: [jwk]}, null, 2)}\n`, user)
    }
    const env = {IAM_LISTEN: `${state.nodes[0].address}:${IAM_PORT}`, JWKS_FILE: p.jwks, PID_FILE: p.pid}
    const start = `env ${Object.entries(env)
      .map(([k, v]) => shq(`${k}=${v}`))
      .join(
        ' ',
      )} setsid ${shq(bins.node)} ${shq(await labScript(state.dir, 'iam-server.mjs'))} </dev/null >>"$LOG_FILE" 2>&1 &`
    await writeServiceScript(state, user, {
      service: SERVICE,
      node: p.node,
      comm: comm(),
      pidFile: p.pid,
      logFile: p.log,
      start,
    })
    const running = await livePid(p.pid, comm())
    if (!running) await serviceVerb(state, p.node, SERVICE, 'start')
    return [
      {
        component: 'iam',
        node: p.node,
        service: SERVICE,
        pid: await livePid(p.pid, comm()),
        outcome: running ? 'running' : 'started',
        endpoint: iamUrl(state),
      },
    ]
  },

  async down(state) {
    const p = iamPaths(state)
    return [{component: 'iam', node: p.node, service: SERVICE, outcome: await stopByPidFile(p.pid, comm())}]
  },

  context(state) {
    const p = iamPaths(state)
    return {
      sections: {
        iam: {
          url: iamUrl(state),
          'token-command': [labScriptNode(), templatePath('iam-token.mjs'), p.signingKey, iamUrl(state)]
            .map(shq)
            .join(' '),
        },
        services: {[SERVICE]: {...serviceCommands(state, SERVICE), unit: SERVICE}},
      },
      roles: {[p.node]: ['iam']},
    }
  },
}
