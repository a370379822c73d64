/**
 * A real S3-compatible server (s3rver) in its own process on 127.0.0.1, a random free port and a
 * temp data directory. Note: s3rver does not verify SigV4 signatures (it accepts any secret), so
 * signing correctness is covered by test/unit/sigv4.test.ts, not by these integration tests.
 */
import {spawn} from 'node:child_process'
import {once} from 'node:events'
import {mkdtemp, rm} from 'node:fs/promises'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'

export interface S3Server {
  endpoint: string
  bucket: string
  accessKeyId: string
  secretAccessKey: string
  /** s3rver's data directory; objects live at DIR/BUCKET/KEY._S3rver_object. */
  dataDir: string
  /** Path of the file that holds KEY's bytes in s3rver's store (POSIX). */
  objectPath(key: string): string
  stop(): Promise<void>
}

export async function startS3Server(bucket = 'plasma-test'): Promise<S3Server> {
  const require = createRequire(import.meta.url)
  const bin = join(dirname(require.resolve('s3rver/package.json')), 'bin', 's3rver.js')
  const dataDir = await mkdtemp(join(tmpdir(), 'plasmactl-s3rver-'))
  // -p 0: the kernel picks a free port, s3rver prints the one it got.
  const child = spawn(
    process.execPath,
    [bin, '-d', dataDir, '-a', '127.0.0.1', '-p', '0', '--silent', '--configure-bucket', bucket],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let output = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d))
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not start within 20 s:\n${output}`)), 20_000)
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      output += d
      const m = /listening on [\d.]+:(\d+)/.exec(output)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`s3rver exited with ${code} before listening:\n${output}`))
    })
  }).catch(async (error) => {
    child.kill('SIGKILL')
    await rm(dataDir, {recursive: true, force: true})
    throw error
  })
  let stopped = false
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    // s3rver's built-in account.
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    dataDir,
    objectPath: (key: string) => join(dataDir, bucket, `${key}._S3rver_object`),
    async stop() {
      if (stopped) return
      stopped = true
      if (child.exitCode === null && child.signalCode === null) {
        const exited = once(child, 'exit')
        child.kill('SIGTERM')
        await exited
      }
      await rm(dataDir, {recursive: true, force: true})
    },
  }
}
