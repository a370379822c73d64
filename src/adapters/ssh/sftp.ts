import {createHash} from 'node:crypto'
import {createWriteStream} from 'node:fs'
import type {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import type {SFTPWrapper} from 'ssh2'
import {OperationError} from '../../errors.js'
import type {SshClient} from './ssh-client.js'

export interface RemoteEntry {
  name: string
  size: number
  mtimeMs: number
  isFile: boolean
}

/** Promise-based SFTP file operations on one SSH connection (the connection's shared SFTP session). */
export class SftpFiles {
  constructor(private readonly client: SshClient) {}

  private async op<T>(
    what: string,
    fn: (sftp: SFTPWrapper, cb: (err: Error | null | undefined, v?: T) => void) => void,
  ): Promise<T> {
    const sftp = await this.client.sftp()
    return new Promise<T>((resolve, reject) =>
      fn(sftp, (err, v) =>
        err
          ? reject(
              Object.assign(
                new OperationError(
                  `sftp ${this.client.target}: ${what}: ${err.message}`,
                  {host: this.client.host},
                  {cause: err},
                ),
                {sftpCode: (err as {code?: number}).code},
              ),
            )
          : resolve(v as T),
      ),
    )
  }

  async list(dir: string): Promise<RemoteEntry[]> {
    try {
      const items = await this.op<{filename: string; attrs: {size: number; mtime: number; isFile(): boolean}}[]>(
        `readdir ${dir}`,
        (s, cb) => s.readdir(dir, cb),
      )
      return items.map((i) => ({
        name: i.filename,
        size: i.attrs.size,
        mtimeMs: i.attrs.mtime * 1000,
        isFile: i.attrs.isFile(),
      }))
    } catch (error) {
      if ((error as {sftpCode?: number}).sftpCode === 2) return [] // no such directory yet
      throw error
    }
  }

  mkdirp(dir: string): Promise<void> {
    return this.client.execArgv(['mkdir', '-p', dir]).then((r) => {
      if (r.exitCode !== 0)
        throw new OperationError(`${this.client.target}: mkdir -p ${dir}: ${r.stderr.trim()}`, {host: this.client.host})
    })
  }

  upload(localPath: string, remotePath: string): Promise<void> {
    return this.client.upload(localPath, remotePath, {mode: 0o644})
  }

  async download(remotePath: string, localPath: string): Promise<void> {
    const {stream, closed} = await this.openRead(remotePath)
    await pipeline(stream, createWriteStream(localPath, {mode: 0o600}))
    await closed
  }

  /**
   * An SFTP read stream closes its remote handle after 'end', asynchronously. Callers wait for
   * that too (`closed`): a connection closed right after the last chunk would otherwise fail the
   * pending handle close and raise an 'error' on a stream nobody listens to any more.
   */
  private async openRead(
    remotePath: string,
    opts: {highWaterMark?: number} = {},
  ): Promise<{stream: Readable; closed: Promise<void>}> {
    const sftp = await this.client.sftp()
    const stream = sftp.createReadStream(remotePath, opts as never)
    const closed = new Promise<void>((resolve, reject) => {
      stream.once('close', () => resolve())
      stream.on('error', (err: Error) =>
        reject(
          new OperationError(
            `sftp ${this.client.target}: read ${remotePath}: ${err.message}`,
            {host: this.client.host},
            {cause: err},
          ),
        ),
      )
    })
    closed.catch(() => undefined) // observed through the returned promise
    return {stream, closed}
  }

  /** Size and SHA-256 of a remote file, streamed over SFTP (no remote tools needed). */
  async digest(remotePath: string): Promise<{size: number; sha256: string}> {
    const {stream, closed} = await this.openRead(remotePath, {highWaterMark: 1 << 20})
    const h = createHash('sha256')
    let size = 0
    for await (const chunk of stream) {
      h.update(chunk as Buffer)
      size += (chunk as Buffer).length
    }
    await closed
    return {size, sha256: h.digest('hex')}
  }

  async readText(remotePath: string): Promise<string> {
    const {stream, closed} = await this.openRead(remotePath)
    const parts: Buffer[] = []
    for await (const chunk of stream) parts.push(chunk as Buffer)
    await closed
    return Buffer.concat(parts).toString('utf8')
  }

  /** Writes through a temp name and a rename, so a reader never sees half a file. */
  async writeText(remotePath: string, text: string): Promise<void> {
    const tmp = `${remotePath}.partial-${process.pid}`
    await this.op<void>(`write ${tmp}`, (s, cb) => s.writeFile(tmp, text, {mode: 0o644}, (e) => cb(e)))
    await this.op<void>(`rename ${tmp}`, (s, cb) => s.ext_openssh_rename(tmp, remotePath, (e) => cb(e)))
  }

  async remove(remotePath: string): Promise<void> {
    try {
      await this.op<void>(`unlink ${remotePath}`, (s, cb) => s.unlink(remotePath, (e) => cb(e)))
    } catch (error) {
      if ((error as {sftpCode?: number}).sftpCode !== 2) throw error
    }
  }
}
