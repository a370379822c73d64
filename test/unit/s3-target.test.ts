import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {clientConfigFor, MIN_PART_SIZE, partSizeFor} from '../../src/adapters/s3/index.js'
import {UsageError} from '../../src/errors.js'
import {parseS3Url, S3Target} from '../../src/services/snapshot/targets/s3.js'

describe('parseS3Url', () => {
  const good: [string, string, string][] = [
    ['s3://backups', 'backups', ''],
    ['s3://backups/', 'backups', ''],
    ['s3://backups/chainfire', 'backups', 'chainfire/'],
    ['s3://backups/chainfire/prod/', 'backups', 'chainfire/prod/'],
    ['s3://my.bucket-1/odd prefix+ሴ', 'my.bucket-1', 'odd prefix+ሴ/'],
    ['S3://backups/x', 'backups', 'x/'],
  ]
  for (const [url, bucket, prefix] of good) {
    test(`${url} → bucket ${bucket}, prefix ${JSON.stringify(prefix)}`, () => {
      assert.deepEqual(parseS3Url(url), {bucket, prefix})
    })
  }
  const bad: [string, RegExp][] = [
    ['backups/x', /must start with s3:\/\//],
    ['file:///tmp/x', /must start with s3:\/\//],
    ['s3://', /bucket name is missing/],
    ['s3:///prefix', /bucket name is missing/],
    ['s3://ab', /not a valid bucket name/],
    ['s3://-bucket', /not a valid bucket name/],
    ['s3://bu cket/x', /not a valid bucket name/],
    ['s3://a..b/x', /not a valid bucket name/],
    ['s3://key:secret@bucket/x', /credentials do not belong/],
    ['s3://bucket/x?versionId=1', /query strings/],
    ['s3://bucket/a//b', /empty, "\." or "\.\." segment/],
    ['s3://bucket/a/../b', /segment/],
  ]
  for (const [url, re] of bad) {
    test(`rejects ${url}`, () => {
      assert.throws(
        () => parseS3Url(url),
        (e: unknown) => e instanceof UsageError && e.exitCode === 2 && re.test(e.message) && e.message.includes(url),
      )
    })
  }
  test('S3Target rejects a bad URL in its constructor', () => {
    assert.throws(() => new S3Target('s3://'), UsageError)
  })
})

describe('clientConfigFor', () => {
  test('custom endpoint: path-style and us-east-1 by default', () => {
    const c = clientConfigFor({bucket: 'b', endpoint: 'http://127.0.0.1:9000'}, {})
    assert.equal(c.forcePathStyle, true)
    assert.equal(c.region, 'us-east-1')
    assert.equal(c.credentials, undefined, 'default chain (env, profile) when no explicit keys')
  })
  test('AWS: virtual-hosted style, region from AWS_REGION, explicit values win', () => {
    assert.equal(clientConfigFor({bucket: 'b'}, {AWS_REGION: 'eu-west-1'}).region, 'eu-west-1')
    assert.equal(clientConfigFor({bucket: 'b'}, {}).forcePathStyle, false)
    const c = clientConfigFor(
      {bucket: 'b', region: 'us-west-2', forcePathStyle: true, accessKeyId: 'A', secretAccessKey: 'S', profile: 'p'},
      {AWS_REGION: 'x'},
    )
    assert.equal(c.region, 'us-west-2')
    assert.equal(c.forcePathStyle, true)
    assert.equal(c.profile, 'p')
    assert.deepEqual(c.credentials, {accessKeyId: 'A', secretAccessKey: 'S', sessionToken: undefined})
  })
  test('half a key pair and bad endpoints are usage errors', () => {
    assert.throws(() => clientConfigFor({bucket: 'b', accessKeyId: 'A'}, {}), UsageError)
    assert.throws(() => clientConfigFor({bucket: 'b', endpoint: 'not a url'}, {}), UsageError)
    assert.throws(() => clientConfigFor({bucket: 'b', endpoint: 'ftp://x'}, {}), UsageError)
  })
  test('part size respects the 5 MiB minimum and the 10,000-part maximum', () => {
    assert.equal(partSizeFor(1, 1), MIN_PART_SIZE)
    assert.equal(partSizeFor(100 * 1024 ** 3, 8 * 1024 ** 2), Math.ceil((100 * 1024 ** 3) / 10_000))
  })
})

test('importing the S3 adapter and target loads no AWS SDK module; opening a store does', async () => {
  // A resolve hook that records every @aws-sdk / @smithy specifier the process asks for.
  const hook = `export async function resolve(s, c, next) { if (/^@(aws-sdk|smithy)\\//.test(s)) process.stderr.write('SDK ' + s + '\\n'); return next(s, c) }`
  const register = `import {register} from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}))`
  const {spawnSync} = await import('node:child_process')
  const go = (code: string) => {
    const r = spawnSync(
      process.execPath,
      [
        '--import',
        `data:text/javascript,${encodeURIComponent(register)}`,
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        code,
      ],
      {
        encoding: 'utf8',
        cwd: new URL('../..', import.meta.url).pathname,
      },
    )
    assert.equal(r.status, 0, r.stderr)
    return r.stderr
  }
  const lazy = go("const m = await import('./src/services/snapshot/targets/s3.ts'); new m.S3Target('s3://bucket/x')")
  assert.doesNotMatch(lazy, /SDK @aws-sdk/)
  const eager = go(
    "const m = await import('./src/adapters/s3/index.ts'); const s = await m.openS3Store({bucket: 'b', endpoint: 'http://127.0.0.1:9'}); await s.close()",
  )
  assert.match(eager, /SDK @aws-sdk\/client-s3/, 'the hook sees the SDK once a store is opened')
})

test('openS3Target maps the config spec (kebab-case) to S3Target options', async () => {
  const {openS3Target} = await import('../../src/services/snapshot/targets/s3.js')
  const t = await openS3Target({url: 's3://bucket/p', endpoint: 'http://127.0.0.1:9', 'path-style': false, region: 'r'})
  assert.equal(t.kind, 's3')
  assert.equal(t.bucket, 'bucket')
  assert.equal(t.prefix, 'p/')
  await t.close()
})
