import {dirname} from 'node:path/posix'
import {HostKeyRefusedError, SshConnectionError} from '../../adapters/ssh/index.js'
import {serviceCommand} from '../../config/context.js'
import type {Context, NodeSpec} from '../../config/schema.js'
import {RefusedError} from '../../errors.js'
import type {Remote} from '../remote.js'
import {shellQuote} from '../../shell-quote.js'
import type {CheckFinding} from './preflight.js'

/**
 * Host preflight of node operations: before the first change, connect to every host the plan will
 * touch the way its steps will (host key, authentication), run `sudo -n true` where its service
 * commands use sudo, and read what the steps need on disk. A refusal here means nothing was changed.
 */

/** What a host says about a data directory (one probe command, parsed). */
export interface DataDirFacts {
  exists: boolean
  /** The parent directory is writable by the SSH user (a move aside renames the data dir inside it). */
  parentWritable: boolean
  /** Device numbers (stat %d) of the data dir and of its parent: they differ for a mount point. */
  dataDev: string | null
  parentDev: string | null
  /** Free KiB on the filesystem that holds the data dir (or would hold it, when it does not exist yet). */
  freeKb: number | null
  /** Paths the steps write (env file) whose nearest existing directory is not writable. */
  unwritable: string[]
}

/** Bytes of one preallocated etcd WAL segment: a joining member writes one before anything else. */
export const WAL_SEGMENT_BYTES = 64 * 1024 * 1024

/** The probe command: facts as key=value lines (POSIX sh, coreutils, df -P). */
export function dataDirProbe(dataDir: string, writes: readonly string[] = []): string {
  const nearest = (v: string) => `a=${v}; while [ ! -e "$a" ]; do a=$(dirname -- "$a"); done`
  return [
    `d=${shellQuote(dataDir)}; p=$(dirname -- "$d")`,
    `if [ -e "$d" ]; then echo exists=1; else echo exists=0; fi`,
    `if [ -w "$p" ]; then echo parentWritable=1; else echo parentWritable=0; fi`,
    `echo "dataDev=$(stat -c %d -- "$d" 2>/dev/null)"`,
    `echo "parentDev=$(stat -c %d -- "$p" 2>/dev/null)"`,
    `${nearest('$d')}; echo "freeKb=$(df -Pk -- "$a" 2>/dev/null | awk 'NR==2{print $4}')"`,
    ...writes.map(
      (w) => `${nearest(shellQuote(w))}; if [ -w "$a" ]; then :; else echo unwritable=${shellQuote(w)}; fi`,
    ),
  ].join('\n')
}

export function parseDataDirFacts(stdout: string): DataDirFacts {
  const kv = new Map<string, string[]>()
  for (const line of stdout.split('\n')) {
    const at = line.indexOf('=')
    if (at > 0) kv.set(line.slice(0, at), [...(kv.get(line.slice(0, at)) ?? []), line.slice(at + 1).trim()])
  }
  const one = (k: string) => kv.get(k)?.[0] || null
  const free = Number(one('freeKb'))
  return {
    exists: one('exists') === '1',
    parentWritable: one('parentWritable') === '1',
    dataDev: one('dataDev'),
    parentDev: one('parentDev'),
    freeKb: one('freeKb') !== null && Number.isFinite(free) ? free : null,
    unwritable: kv.get('unwritable') ?? [],
  }
}

/**
 * Whether the data dir can be moved aside (renamed to a sibling): a rename within one filesystem
 * needs no free space, but the parent must be writable, and a mount point cannot be renamed at all
 * (mv fails with "Device or resource busy"; it copies only across filesystems, never for a mount point).
 */
export function moveAsideFindings(node: string, dataDir: string, f: DataDirFacts): CheckFinding[] {
  if (!f.exists) return []
  const parent = dirname(dataDir)
  if (!f.parentWritable) {
    return [
      {
        id: 'data-dir',
        level: 'refuse',
        message: `${node}: ${dataDir} cannot be moved aside: ${parent} is not writable by the SSH user`,
        hint: `let the SSH user write ${parent}, or log in as the user that owns it`,
      },
    ]
  }
  if (f.dataDev && f.parentDev && f.dataDev !== f.parentDev) {
    return [
      {
        id: 'data-dir',
        level: 'refuse',
        message: `${node}: ${dataDir} is a mount point and cannot be renamed aside (mv: Device or resource busy)`,
        hint: 'point the data-dir setting at a directory inside the mounted filesystem',
      },
    ]
  }
  return []
}

/** Whether a joining member has room for the database it receives from the leader, plus its first WAL segment. */
export function joinSpaceFindings(node: string, dataDir: string, f: DataDirFacts, dbBytes: number): CheckFinding[] {
  const needKb = Math.ceil((dbBytes + WAL_SEGMENT_BYTES) / 1024)
  if (f.freeKb === null)
    return [
      {
        id: 'disk-space',
        level: 'warn',
        message: `${node}: could not read the free space for ${dataDir} (df); it needs about ${mib(needKb)}`,
      },
    ]
  if (f.freeKb >= needKb) return []
  return [
    {
      id: 'disk-space',
      level: 'refuse',
      message: `${node}: ${mib(f.freeKb)} free for ${dataDir}, the member needs about ${mib(needKb)} (database ${mib(Math.ceil(dbBytes / 1024))} + one WAL segment)`,
      hint: `free space on ${node} first`,
    },
  ]
}

function mib(kb: number): string {
  return `${(kb / 1024).toFixed(kb < 10 * 1024 ? 1 : 0)} MiB`
}

export interface HostCheckOptions {
  /** The data dir the steps move aside (or that the joining member fills). */
  dataDir: string
  /** The member is down already: a host that does not answer is only a warning (its steps are left pending). */
  mayBeUnreachable: boolean
  /** Paths the steps write. */
  writes?: string[]
  /** A joining member: bytes of the database it receives. */
  joinDbBytes?: number
}

/** Connects to NODE as the steps will and checks what they need there; returns the findings (refusals stop the plan). */
export async function hostFindings(
  remote: Remote,
  ctx: Context,
  node: NodeSpec,
  o: HostCheckOptions,
): Promise<CheckFinding[]> {
  let facts: DataDirFacts
  try {
    facts = parseDataDirFacts(
      (await remote.execChecked(node, dataDirProbe(o.dataDir, o.writes), {timeoutMs: 30_000})).stdout,
    )
  } catch (error) {
    const message = (error as Error).message
    if (error instanceof SshConnectionError && o.mayBeUnreachable) {
      return [
        {
          id: 'ssh',
          level: 'warn',
          message: `${node.name} does not answer over SSH (${message}): its service stop, disable and data move will be left for later`,
        },
      ]
    }
    const hint = (error as RefusedError).details?.hint
    const what =
      error instanceof HostKeyRefusedError
        ? 'refuses its host key'
        : error instanceof SshConnectionError
          ? 'does not answer over SSH'
          : 'cannot be used over SSH'
    return [
      {
        id: 'ssh',
        level: 'refuse',
        message: `${node.name} ${what}: ${message}`,
        ...(typeof hint === 'string' ? {hint} : {}),
      },
    ]
  }
  const out: CheckFinding[] = []
  if (serviceCommand(ctx, node, 'chainfire', 'stop').startsWith('sudo -n ')) {
    try {
      const r = await remote.exec(node, 'sudo -n true', {timeoutMs: 30_000})
      if (r.exitCode !== 0)
        out.push({
          id: 'sudo',
          level: 'refuse',
          message: `${node.name}: \`sudo -n true\` failed (exit ${r.exitCode}): ${r.stderr.trim() || r.stdout.trim()}`,
        })
    } catch (error) {
      if (!(error instanceof RefusedError)) throw error
      out.push({
        id: 'sudo',
        level: 'refuse',
        message: error.message,
        ...(typeof error.details.hint === 'string' ? {hint: error.details.hint} : {}),
      })
    }
  }
  out.push(...moveAsideFindings(node.name, o.dataDir, facts))
  for (const w of facts.unwritable)
    out.push({id: 'data-dir', level: 'refuse', message: `${node.name}: ${w} cannot be written by the SSH user`})
  if (o.joinDbBytes !== undefined) out.push(...joinSpaceFindings(node.name, o.dataDir, facts, o.joinDbBytes))
  return out
}
