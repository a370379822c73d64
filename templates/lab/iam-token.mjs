#!/usr/bin/env node
// plasmactl lab: the lab context's iam.token-command. Signs a fresh RS256 JWT with the lab's IAM key and
// prints it in kubectl's ExecCredential shape. Usage: iam-token.mjs KEY_FILE ISSUER [TTL_SECONDS]
import {createPrivateKey, sign} from 'node:crypto'
import {readFileSync} from 'node:fs'

const [keyFile, issuer, ttl = '43200'] = process.argv.slice(2)
const key = createPrivateKey(readFileSync(keyFile))
const now = Math.floor(Date.now() / 1000)
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url')
const header = b64({alg: 'RS256', typ: 'JWT', kid: 'lab-1'})
const exp = now + Number(ttl)
const payload = b64({iss: issuer, sub: 'lab-operator', aud: 'plasmacloud', iat: now, exp})
const signature = sign('sha256', Buffer.from(`${header}.${payload}`), key).toString('base64url')
process.stdout.write(`${JSON.stringify({kind: 'ExecCredential', apiVersion: 'client.authentication.k8s.io/v1', status: {token: `${header}.${payload}.${signature}`, expirationTimestamp: new Date(exp * 1000).toISOString()}})}\n`)
