import {copyFile, mkdir, readdir, readFile, rename, rm, stat} from 'node:fs/promises'
import {hostname} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {replaceAtomically, writeFileAtomic} from '../../../core/fs.js'
import {OperationError, UsageError} from '../../../errors.js'
import {digestFile} from '../hash.js'
import {processAlive} from '../../lock.js'
import {PARTIAL_MARKER, partialName, partialOwner} from '../manifest.js'
import type {SnapshotTarget, StoredObject, UploadExpectation} from './types.js'

/** A directory on this machine: file:///var/backups/chainfire or a plain path. */
export class FileTarget implements SnapshotTarget {
  readonly kind = 'file' as const
  readonly dir: string

  constructor(readonly url: string) {
    if (url.startsWith('file://')) {
      try {
        this.dir = fileURLToPath(url)
      } catch {
        throw new UsageError(`invalid file target URL "${url}": use file:///absolute/dir`)
      }
    } else this.dir = resolve(url)
  }

  path(name: string): string {
    if (name.includes('/') || name.startsWith('.')) throw new UsageError(`invalid snapshot object name "${name}"`)
    return join(this.dir, name)
  }

  async list(): Promise<StoredObject[]> {
    let names: string[]
    try {
      names = await readdir(this.dir)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw new OperationError(`cannot list ${this.dir}: ${(error as Error).message}`, {file: this.dir})
    }
    const out: StoredObject[] = []
    for (const name of names) {
      if (name.includes(PARTIAL_MARKER)) continue
      try {
        const s = await stat(join(this.dir, name))
        if (s.isFile()) out.push({name, size: s.size, modifiedAt: s.mtime})
      } catch {
        // vanished between readdir and stat (a concurrent prune): skip it
      }
    }
    return out
  }

  async upload(localPath: string, name: string, expect: UploadExpectation): Promise<void> {
    const dest = this.path(name)
    await mkdir(this.dir, {recursive: true})
    await replaceAtomically(
      dest,
      async (tmp) => {
        if (resolve(dirname(localPath)) === resolve(this.dir)) {
          // Staged in this directory: the very bytes that were hashed while streaming and fsynced.
          // Reading them back would only re-read the page cache, so a size check is all that adds.
          await rename(localPath, tmp)
          const {size} = await stat(tmp)
          if (size !== expect.size)
            throw new OperationError(
              `staged snapshot ${name} in ${this.dir} has ${size} bytes, expected ${expect.size}`,
            )
        } else {
          await copyFile(localPath, tmp)
          const d = await digestFile(tmp)
          if (d.size !== expect.size || d.sha256 !== expect.sha256) {
            throw new OperationError(
              `stored copy of ${name} in ${this.dir} does not match: size ${d.size} vs ${expect.size}, sha256 ${d.sha256.slice(0, 12)} vs ${expect.sha256.slice(0, 12)}`,
            )
          }
        }
      },
      partialName(dest),
    )
  }

  async download(name: string, localPath: string): Promise<void> {
    await copyFile(this.path(name), localPath)
  }

  async readText(name: string): Promise<string> {
    return readFile(this.path(name), 'utf8')
  }

  async writeText(name: string, text: string): Promise<void> {
    await writeFileAtomic(this.path(name), text, 0o644)
  }

  async remove(name: string): Promise<void> {
    await rm(this.path(name), {force: true})
  }

  /**
   * Removes in-flight files of runs that died: those of a process of this host that is gone, and any
   * other (another host's, or unnamed) once older than foreignMaxAgeMs. A live run's partial stays.
   */
  async cleanPartials(foreignMaxAgeMs = 6 * 3600_000): Promise<string[]> {
    const removed: string[] = []
    let names: string[] = []
    try {
      names = await readdir(this.dir)
    } catch {
      return removed
    }
    for (const n of names.filter((x) => x.includes(PARTIAL_MARKER))) {
      const p = join(this.dir, n)
      const owner = partialOwner(n)
      let dead: boolean
      if (owner?.host === hostname()) dead = owner.pid !== process.pid && !processAlive(owner.pid)
      else dead = Date.now() - ((await stat(p).catch(() => undefined))?.mtimeMs ?? Date.now()) > foreignMaxAgeMs
      if (dead) {
        await rm(p, {force: true})
        removed.push(n)
      }
    }
    return removed
  }

  async close(): Promise<void> {}
}
