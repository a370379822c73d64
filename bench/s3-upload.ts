/**
 * Upload throughput of S3Target to a loopback s3rver, and (run under /usr/bin/time -v) the peak
 * RSS of this process. s3rver runs in its own process, so its memory is not counted here.
 *   node --import tsx bench/s3-upload.ts [MiB=64] [partMiB=8]
 */
import {createHash, randomBytes} from 'node:crypto'
import {createWriteStream} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {finished} from 'node:stream/promises'
import {S3Target} from '../src/services/snapshot/targets/s3.js'
import {startS3Server} from '../test/helpers/s3-server.js'

const MiB = 1024 * 1024
const sizeMiB = Number(process.argv[2] ?? 64)
const partMiB = Number(process.argv[3] ?? 8)
const server = await startS3Server()
const dir = await mkdtemp(join(tmpdir(), 'plasmactl-s3-bench-'))
try {
  // Write the file in 1 MiB chunks so the bench itself never holds it in memory.
  const file = join(dir, 'snap.db')
  const hash = createHash('sha256')
  const out = createWriteStream(file)
  for (let i = 0; i < sizeMiB; i++) {
    const chunk = randomBytes(MiB)
    hash.update(chunk)
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()))
  }
  out.end()
  await finished(out)
  const expect = {size: sizeMiB * MiB, sha256: hash.digest('hex')}
  const t = new S3Target(`s3://${server.bucket}/bench`, {
    endpoint: server.endpoint,
    accessKeyId: server.accessKeyId,
    secretAccessKey: server.secretAccessKey,
    partSize: partMiB * MiB,
  })
  const t0 = performance.now()
  await t.upload(file, 'snap.db', expect) // multipart upload + full read-back verify
  const t1 = performance.now()
  await t.verify('snap.db', expect) // the read-back alone
  const t2 = performance.now()
  await t.download('snap.db', join(dir, 'back.db'))
  const t3 = performance.now()
  await t.close()
  const rate = (ms: number) => (sizeMiB / (ms / 1000)).toFixed(1)
  console.log(`size ${sizeMiB} MiB, part ${partMiB} MiB`)
  console.log(`upload+verify ${(t1 - t0).toFixed(0)} ms (${rate(t1 - t0)} MiB/s)`)
  console.log(`verify alone  ${(t2 - t1).toFixed(0)} ms (${rate(t2 - t1)} MiB/s)`)
  console.log(`upload alone ~${(t1 - t0 - (t2 - t1)).toFixed(0)} ms (${rate(t1 - t0 - (t2 - t1))} MiB/s)`)
  console.log(`download      ${(t3 - t2).toFixed(0)} ms (${rate(t3 - t2)} MiB/s)`)
} finally {
  await server.stop()
  await rm(dir, {recursive: true, force: true})
}
