import {randomBytes} from 'node:crypto'
import {access, chmod, mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {runChecked} from '../../adapters/exec/index.js'
import {writeFileAtomic} from '../../core/fs.js'
import type {LabPaths, NodePaths} from './layout.js'

export async function exists(p: string): Promise<boolean> {
  try {
    await access(p)
    return true
  } catch {
    return false
  }
}

/** Generates an ed25519 key pair unless KEYFILE exists; returns the public key line. */
export async function ensureEd25519Key(sshKeygen: string, keyFile: string, comment: string): Promise<string> {
  if (!(await exists(keyFile)) || !(await exists(`${keyFile}.pub`))) {
    await rm(keyFile, {force: true})
    await rm(`${keyFile}.pub`, {force: true})
    await runChecked(sshKeygen, ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', keyFile])
  }
  await chmod(keyFile, 0o600)
  return (await readFile(`${keyFile}.pub`, 'utf8')).trim()
}

/** The lab's client key and the authorized_keys every node's sshd reads (as the lab user). */
export async function ensureClientKey(sshKeygen: string, paths: LabPaths): Promise<void> {
  await mkdir(paths.sshDir, {recursive: true, mode: 0o755})
  await chmod(paths.sshDir, 0o755)
  const pub = await ensureEd25519Key(sshKeygen, paths.identity, 'plasmactl-lab-client')
  await writeFileAtomic(paths.authorizedKeys, `${pub}\n`, 0o644)
}

/** known_hosts with one "[address]:port ssh-ed25519 …" line per node. */
export async function writeKnownHosts(
  paths: LabPaths,
  hosts: {name: string; address: string; port: number; publicKey: string}[],
): Promise<void> {
  const lines = hosts.map((h) => {
    const [type, b64] = h.publicKey.split(/\s+/)
    return `[${h.address}]:${h.port} ${type} ${b64} ${h.name}`
  })
  await writeFileAtomic(paths.knownHosts, `${lines.join('\n')}\n`, 0o644)
}

const DAYS = '3650'

/** A lab CA and a client certificate for mutual TLS, generated once per lab with openssl. */
export async function ensureLabCa(openssl: string, paths: LabPaths): Promise<void> {
  await mkdir(paths.tlsDir, {recursive: true, mode: 0o755})
  if (!(await exists(paths.ca)) || !(await exists(paths.caKey))) {
    await runChecked(openssl, [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      paths.caKey,
      '-out',
      paths.ca,
      '-days',
      DAYS,
      '-subj',
      '/CN=plasmactl lab CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ])
    await chmod(paths.caKey, 0o600)
  }
  if (!(await exists(paths.clientCert)) || !(await exists(paths.clientKey))) {
    await issueCert(openssl, paths, {
      cn: 'plasmactl-lab-client',
      cert: paths.clientCert,
      key: paths.clientKey,
      ext: 'extendedKeyUsage=clientAuth',
    })
  }
}

/** A server certificate for one node: SAN = its address (clients connect by IP). */
export async function ensureServerCert(
  openssl: string,
  paths: LabPaths,
  node: NodePaths,
  name: string,
  address: string,
): Promise<void> {
  await mkdir(node.tlsDir, {recursive: true, mode: 0o755})
  if ((await exists(node.serverCert)) && (await exists(node.serverKey))) return
  await issueCert(openssl, paths, {
    cn: name,
    cert: node.serverCert,
    key: node.serverKey,
    ext: `subjectAltName=IP:${address},DNS:${name}\nextendedKeyUsage=serverAuth,clientAuth`,
  })
}

async function issueCert(
  openssl: string,
  paths: LabPaths,
  o: {cn: string; cert: string; key: string; ext: string},
): Promise<void> {
  const csr = `${o.cert}.csr`
  const extFile = `${o.cert}.ext`
  try {
    await runChecked(openssl, [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      o.key,
      '-out',
      csr,
      '-subj',
      `/CN=${o.cn}`,
    ])
    await chmod(o.key, 0o600)
    await writeFile(
      extFile,
      `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n${o.ext}\n`,
    )
    await runChecked(openssl, [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      paths.ca,
      '-CAkey',
      paths.caKey,
      '-set_serial',
      `0x${randomBytes(12).toString('hex')}`,
      '-days',
      DAYS,
      '-out',
      o.cert,
      '-extfile',
      extFile,
    ])
  } finally {
    await rm(csr, {force: true})
    await rm(extFile, {force: true})
  }
}
