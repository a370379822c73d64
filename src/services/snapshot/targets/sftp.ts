import {posix} from 'node:path'
import {SftpFiles, SshConnections} from '../../../adapters/ssh/index.js'
import type {LoadedConfig} from '../../../config/load.js'
import type {Context, NodeSpec} from '../../../config/schema.js'
import {OperationError, UsageError} from '../../../errors.js'
import {sshOptionsFor} from '../../remote.js'
import {PARTIAL_MARKER, partialName} from '../manifest.js'
import type {TargetSpec} from './index.js'
import type {SnapshotTarget, StoredObject, UploadExpectation} from './types.js'

/** sftp://NODE-OR-HOST[:port]/abs/path — a context node name uses that node's SSH settings. */
export function parseSftpUrl(url: string, ctx: Context): {node: NodeSpec; dir: string} {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new UsageError(`invalid SFTP target "${url}": use sftp://node-or-host/absolute/path`)
  }
  if (u.protocol !== 'sftp:' || !u.hostname || !u.pathname || u.pathname === '/')
    throw new UsageError(`invalid SFTP target "${url}": use sftp://node-or-host/absolute/path`)
  const host = decodeURIComponent(u.hostname)
  const known = ctx.nodes.find((n) => n.name === host || n.address === host)
  const node: NodeSpec = known
    ? {
        ...known,
        ssh: {
          ...known.ssh,
          ...(u.port ? {port: Number(u.port)} : {}),
          ...(u.username ? {user: decodeURIComponent(u.username)} : {}),
        },
      }
    : {
        name: host,
        address: host,
        roles: [],
        ssh: {...(u.port ? {port: Number(u.port)} : {}), ...(u.username ? {user: decodeURIComponent(u.username)} : {})},
      }
  return {node, dir: posix.normalize(decodeURIComponent(u.pathname))}
}

/** Snapshots in a directory on another machine, over the context's SSH settings. */
export class SftpTarget implements SnapshotTarget {
  readonly kind = 'sftp' as const
  private readonly pool = new SshConnections()

  constructor(
    readonly url: string,
    private readonly node: NodeSpec,
    private readonly dir: string,
    private readonly loaded: LoadedConfig,
    private readonly ctx: Context,
  ) {}

  private async files(): Promise<SftpFiles> {
    return new SftpFiles(await this.pool.get(sshOptionsFor(this.loaded, this.ctx, this.node)))
  }

  private path(name: string): string {
    if (name.includes('/') || name.startsWith('.')) throw new UsageError(`invalid snapshot object name "${name}"`)
    return posix.join(this.dir, name)
  }

  async list(): Promise<StoredObject[]> {
    const entries = await (await this.files()).list(this.dir)
    return entries
      .filter((e) => e.isFile && !e.name.includes(PARTIAL_MARKER))
      .map((e) => ({name: e.name, size: e.size, modifiedAt: new Date(e.mtimeMs)}))
  }

  async upload(localPath: string, name: string, expect: UploadExpectation): Promise<void> {
    const f = await this.files()
    await f.mkdirp(this.dir)
    const dest = this.path(name)
    const tmp = partialName(dest)
    try {
      await f.upload(localPath, tmp)
      const got = await f.digest(tmp)
      if (got.size !== expect.size || got.sha256 !== expect.sha256) {
        throw new OperationError(
          `${this.url}/${name}: stored copy differs (size ${got.size} vs ${expect.size}, sha256 ${got.sha256.slice(0, 12)} vs ${expect.sha256.slice(0, 12)})`,
        )
      }
      const client = await this.pool.get(sshOptionsFor(this.loaded, this.ctx, this.node))
      const mv = await client.execArgv(['mv', '-f', tmp, dest])
      if (mv.exitCode !== 0) throw new OperationError(`${this.url}: rename ${tmp} failed: ${mv.stderr.trim()}`)
    } catch (error) {
      await f.remove(tmp).catch(() => undefined)
      throw error
    }
  }

  async download(name: string, localPath: string): Promise<void> {
    await (await this.files()).download(this.path(name), localPath)
  }

  async readText(name: string): Promise<string> {
    return (await this.files()).readText(this.path(name))
  }

  async writeText(name: string, text: string): Promise<void> {
    await (await this.files()).writeText(this.path(name), text)
  }

  async remove(name: string): Promise<void> {
    await (await this.files()).remove(this.path(name))
  }

  async close(): Promise<void> {
    await this.pool.closeAll()
  }
}

export async function openSftpTarget(spec: TargetSpec, loaded: LoadedConfig, ctx: Context): Promise<SnapshotTarget> {
  const {node, dir} = parseSftpUrl(spec.url, ctx)
  return new SftpTarget(spec.url, node, dir, loaded, ctx)
}
