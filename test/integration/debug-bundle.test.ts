import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseDocument} from 'yaml'
import {type Lab, startLab} from '../helpers/lab.js'

async function walk(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const e of await readdir(dir, {withFileTypes: true})) {
    const p = join(dir, e.name)
    if (e.isDirectory()) out.push(...(await walk(p)))
    else out.push(p)
  }
  return out
}

/** plasmactl debug bundle against a real lab: secrets planted in the context never reach the tar.gz; a dead node is a note. */
describe('debug bundle', () => {
  let lab: Lab
  let work: string
  const tag = randomBytes(6).toString('hex')
  const planted = {
    iamToken: `planted-iam-token-${tag}`,
    envToken: `planted-env-token-${tag}`,
    accessKeyId: `AKIAPLANTED${tag.toUpperCase()}`,
    secretKey: `planted/secret+key=${tag}`,
    urlPassword: `planted-url-pw-${tag}`,
  }
  const env = () => ({PLASMACTL_STATE_DIR: join(work, 'state'), PLASMACTL_TOKEN: planted.envToken})

  before(async () => {
    lab = await startLab({nodes: 3})
    work = await mkdtemp(join(tmpdir(), 'plasmactl-bundle-'))
    // Secrets in the lab context, in config view's secret keys and where only value-based redaction finds them.
    const doc = parseDocument(await readFile(lab.configPath, 'utf8'))
    const idx = (doc.toJS().contexts as {name: string}[]).findIndex((c) => c.name === 'lab')
    doc.setIn(['contexts', idx, 'iam'], {url: 'http://127.0.0.1:9', token: planted.iamToken})
    doc.setIn(
      ['contexts', idx, 'snapshots', 'targets'],
      [
        `file://${join(work, 'snapshots')}`,
        {
          url: 's3://bucket/lab',
          endpoint: `http://backup:${planted.urlPassword}@127.0.0.1:9`,
          'access-key-id': planted.accessKeyId,
          'secret-access-key': planted.secretKey,
        },
      ],
    )
    await writeFile(lab.configPath, doc.toString())
    // The same secrets where an operator's logs and journals would leak them.
    await appendFile(
      join(lab.dir, 'nodes', 'n1', 'chainfire.log'),
      `debug: auth header Bearer ${planted.iamToken} key ${planted.secretKey} id ${planted.accessKeyId}\n`,
    )
    await mkdir(join(work, 'state', 'runbooks'), {recursive: true})
    await writeFile(
      join(work, 'state', 'runbooks', 'rb-test-1.jsonl'),
      [
        {
          ts: new Date().toISOString(),
          type: 'begin',
          data: {runbook: 'chainfire/restart-node', params: {note: planted.envToken}},
        },
        {ts: new Date().toISOString(), type: 'end', ok: true},
      ]
        .map((e) => JSON.stringify(e))
        .join('\n') + '\n',
    )
  })

  after(async () => {
    await lab?.stop()
    if (work) await rm(work, {recursive: true, force: true})
  })

  it('writes a tar.gz with a manifest, member metrics and node logs, and no planted secret anywhere in it', async () => {
    const out = join(work, 'bundle-all.tar.gz')
    const r = await lab.cli(['debug', 'bundle', '--out', out, '--since', '1h', '--timeout', '10s', '--json'], {
      env: env(),
    })
    assert.equal(r.exitCode, 0, r.stdout + r.stderr)
    const data = r.json.data
    assert.deepEqual(
      data.nodes.map((n: {collected: boolean}) => n.collected),
      [true, true, true],
      JSON.stringify(data.notes),
    )
    const x = join(work, 'x-all')
    await mkdir(x)
    execFileSync('tar', ['-xzf', out, '-C', x])
    const files = (await walk(x)).map((f) => f.slice(x.length + 1)).sort()
    for (const f of [
      'manifest.json',
      'health.json',
      'chainfire/members.json',
      'chainfire/alarms.json',
      'runs.json',
      'versions.json',
      'config/context.yaml',
      'nodes/n1/log-chainfire.txt',
      'nodes/n2/service-chainfire.txt',
      'nodes/n3/disk.txt',
    ]) {
      assert.ok(files.includes(f), `${f} missing from ${files.join(', ')}`)
    }
    for (const n of ['n1', 'n2', 'n3'])
      assert.ok(files.includes(`chainfire/metrics/${n}.prom`), `metrics of ${n} missing`)
    const manifest = JSON.parse(await readFile(join(x, 'manifest.json'), 'utf8'))
    assert.deepEqual(
      manifest.files.map((f: {path: string}) => f.path).sort(),
      files.filter((f) => f !== 'manifest.json'),
    )
    assert.match(await readFile(join(x, 'chainfire/metrics/n1.prom'), 'utf8'), /etcd_server_has_leader/)
    assert.match(await readFile(join(x, 'nodes/n2/service-chainfire.txt'), 'utf8'), /active/)
    assert.match(await readFile(join(x, 'runs.json'), 'utf8'), /rb-test-1/)
    // The planted log line is there, its secrets replaced.
    const log = await readFile(join(x, 'nodes/n1/log-chainfire.txt'), 'utf8')
    assert.match(log, /auth header Bearer \[REDACTED\] key \[REDACTED\] id \[REDACTED\]/)
    // No planted secret in any file, in any form (raw, JSON-escaped, URL-encoded), nor in the gzip stream itself.
    const forms = Object.values(planted).flatMap((s) => [s, JSON.stringify(s).slice(1, -1), encodeURIComponent(s)])
    for (const f of files) {
      const text = await readFile(join(x, f), 'utf8')
      for (const s of forms) assert.ok(!text.includes(s), `${f} contains the planted secret ${s}`)
    }
    const tarText = execFileSync('tar', ['-xzOf', out]).toString('latin1')
    for (const s of forms) assert.ok(!tarText.includes(s), `the archive contains ${s}`)
    assert.ok(data.redaction.replaced >= 4, JSON.stringify(data.redaction))
  })

  it('a dead node is a note in the manifest, not a failure; an existing --out is refused (exit 2)', async () => {
    // n3 dies entirely: its sshd and its member.
    const sshdPid = Number((await readFile(join(lab.dir, 'nodes', 'n3', 'sshd', 'sshd.pid'), 'utf8')).trim())
    await lab.killMember('n3')
    process.kill(sshdPid, 'SIGKILL')
    const out = join(work, 'bundle-dead.tar.gz')
    const r = await lab.cli(['debug', 'bundle', '--out', out, '--timeout', '5s', '--json'], {env: env()})
    assert.equal(r.exitCode, 0, r.stdout + r.stderr)
    const x = join(work, 'x-dead')
    await mkdir(x)
    execFileSync('tar', ['-xzf', out, '-C', x])
    const manifest = JSON.parse(await readFile(join(x, 'manifest.json'), 'utf8'))
    assert.deepEqual(manifest.nodes, [
      {node: 'n1', collected: true},
      {node: 'n2', collected: true},
      {node: 'n3', collected: false},
    ])
    assert.ok(
      manifest.notes.some((n: {source: string; node?: string}) => n.source === 'node' && n.node === 'n3'),
      JSON.stringify(manifest.notes),
    )
    assert.ok(
      manifest.notes.some((n: {source: string; node?: string}) => n.source === 'chainfire metrics' && n.node === 'n3'),
      JSON.stringify(manifest.notes),
    )
    assert.ok(manifest.files.some((f: {path: string}) => f.path === 'nodes/n1/log-chainfire.txt'))
    const again = await lab.cli(['debug', 'bundle', '--out', out, '--json'], {env: env()})
    assert.equal(again.exitCode, 2, again.stdout + again.stderr)
    assert.match(again.json.error.message, /already exists/)
  })
})
