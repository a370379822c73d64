import {readFile} from 'node:fs/promises'
import {userInfo} from 'node:os'
import {run, runChecked, which} from '../../adapters/exec/index.js'
import {OperationError, UsageError} from '../../errors.js'
import type {Reporter} from '../reporter.js'
import {isRoot, LAB_USER} from './layout.js'

export interface LabBinaries {
  etcd: string
  sshd: string
  sshKeygen: string
  openssl?: string
}

/** Debian package that ships each program the lab runs. */
const PACKAGE_OF: Record<string, string> = {
  etcd: 'etcd-server',
  sshd: 'openssh-server',
  'ssh-keygen': 'openssh-client',
  openssl: 'openssl',
}

/** Finds every program the lab needs; one error lists all that are missing with their packages. */
export async function findLabBinaries({tls}: {tls: boolean}): Promise<LabBinaries> {
  const names = ['etcd', 'sshd', 'ssh-keygen', ...(tls ? ['openssl'] : [])]
  const found = await Promise.all(names.map(async (n) => [n, await which(n)] as const))
  const missing = found.filter(([, p]) => !p).map(([n]) => n)
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((n) => PACKAGE_OF[n]))]
    throw new UsageError(
      `the lab needs ${missing.map((n) => `${n} (Debian package ${PACKAGE_OF[n]})`).join(', ')}, not found on PATH`,
      {
        command: missing.join(' '),
        hint: `install with: apt-get install -y ${pkgs.join(' ')}`,
      },
    )
  }
  const p = Object.fromEntries(found) as Record<string, string>
  return {etcd: p.etcd, sshd: p.sshd, sshKeygen: p['ssh-keygen'], openssl: p.openssl}
}

export interface LabUser {
  name: string
  uid: number
  gid: number
  home: string
  /** True when this run created the account. */
  created: boolean
}

interface PasswdEntry {
  name: string
  uid: number
  gid: number
  home: string
  shell: string
}

async function lookupUser(name: string): Promise<PasswdEntry | undefined> {
  const passwd = await readFile('/etc/passwd', 'utf8')
  for (const line of passwd.split('\n')) {
    const f = line.split(':')
    if (f[0] === name && f.length >= 7) return {name, uid: Number(f[2]), gid: Number(f[3]), home: f[5], shell: f[6]}
  }
  return undefined
}

/**
 * The account lab nodes log in as and run their services as. As root: the unprivileged user
 * "plasmalab" with /bin/sh (root's shell start-up files cost about a second per SSH command),
 * created on first use. Otherwise: the current user.
 */
export async function ensureLabUser(reporter: Reporter): Promise<LabUser> {
  if (!isRoot()) {
    const me = userInfo()
    return {name: me.username, uid: me.uid, gid: me.gid, home: me.homedir, created: false}
  }
  let entry = await lookupUser(LAB_USER)
  let created = false
  for (let attempt = 0; !entry && attempt < 8; attempt++) {
    const useradd = await which('useradd')
    if (!useradd)
      throw new UsageError('useradd not found (Debian package passwd): it creates the lab user', {
        hint: 'apt-get install -y passwd',
      })
    // "*" (not the default "!") so sshd without PAM does not treat the account as locked.
    const r = await run(useradd, [
      '--create-home',
      '--shell',
      '/bin/sh',
      '--password',
      '*',
      '--comment',
      'plasmactl lab',
      LAB_USER,
    ])
    entry = await lookupUser(LAB_USER)
    if (r.exitCode === 0) {
      created = true
      reporter.info(`created lab user ${LAB_USER} (shell /bin/sh, home ${entry?.home})`)
    } else if (!entry && r.exitCode !== 9) {
      // Another lab up may hold the passwd lock right now: try again shortly.
      if (attempt === 7)
        throw new OperationError(`cannot create the lab user ${LAB_USER}: ${r.stderr.trim()}`, {command: r.command})
      await new Promise((res) => setTimeout(res, 100 + Math.random() * 400))
    }
  }
  if (!entry) throw new OperationError(`lab user ${LAB_USER} does not exist and could not be created`)
  await unlockForKeyLogin(entry, reporter)
  return {name: entry.name, uid: entry.uid, gid: entry.gid, home: entry.home, created}
}

/** sshd without PAM refuses accounts whose password field starts with "!"; "*" only disables passwords. */
async function unlockForKeyLogin(entry: PasswdEntry, reporter: Reporter): Promise<void> {
  const shadow = await readFile('/etc/shadow', 'utf8').catch(() => '')
  const field = shadow
    .split('\n')
    .find((l) => l.startsWith(`${entry.name}:`))
    ?.split(':')[1]
  const fixShell = entry.shell !== '/bin/sh'
  const fixPassword = field !== undefined && field.startsWith('!')
  if (!fixShell && !fixPassword) return
  const usermod = await which('usermod')
  if (!usermod) throw new UsageError('usermod not found (Debian package passwd)')
  await runChecked(usermod, [
    ...(fixShell ? ['--shell', '/bin/sh'] : []),
    ...(fixPassword ? ['--password', '*'] : []),
    entry.name,
  ])
  reporter.info(
    `adjusted lab user ${entry.name}:${fixShell ? ' shell /bin/sh' : ''}${fixPassword ? ' key login allowed' : ''}`,
  )
}
