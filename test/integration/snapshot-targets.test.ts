import assert from 'node:assert/strict'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseDocument} from 'yaml'
import {type Lab, startLab} from '../helpers/lab.js'
import {startS3Server} from '../helpers/s3-server.js'

describe('snapshot targets: file, S3 (real S3-compatible server) and SFTP (a lab node) at once', () => {
  let lab: Lab
  let s3: Awaited<ReturnType<typeof startS3Server>>
  let env: Record<string, string>
  let sftpDir: string
  const cli = (args: string[]) => lab.cli(args, {env})

  before(async () => {
    lab = await startLab({nodes: 3})
    s3 = await startS3Server()
    sftpDir = join(lab.dir, 'nodes', 'n2', 'backups')
    env = {
      PLASMACTL_STATE_DIR: join(lab.dir, '..', 'state'),
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    }
    const doc = parseDocument(await readFile(lab.configPath, 'utf8'))
    const idx = (doc.toJS().contexts as {name: string}[]).findIndex((c) => c.name === 'lab')
    doc.setIn(
      ['contexts', idx, 'snapshots'],
      doc.createNode({
        targets: [
          `file://${join(lab.dir, '..', 'local')}`,
          {
            url: `s3://${s3.bucket}/chainfire backups/+lab`,
            endpoint: s3.endpoint,
            'path-style': true,
            region: 'us-east-1',
          },
          `sftp://n2${sftpDir}`,
        ],
      }),
    )
    await writeFile(lab.configPath, doc.toString())
  })

  after(async () => {
    await s3?.stop()
    await lab?.stop()
  })

  it('save stores and read-back-verifies the snapshot on every target', async () => {
    const save = await cli(['snapshot', 'save', '--json'])
    assert.equal(save.exitCode, 0, save.stderr + save.stdout)
    assert.equal(save.json.data.targets.length, 3)
    for (const t of save.json.data.targets) assert.equal(t.ok, true, `${t.target}: ${t.error}`)
    const list = await cli(['snapshot', 'list', '--json'])
    assert.equal(list.exitCode, 0, `list: ${list.stderr}\n${list.stdout}`)
    const byTarget = new Map<string, {id: string; complete: boolean}[]>()
    for (const s of list.json.data.snapshots) byTarget.set(s.target, [...(byTarget.get(s.target) ?? []), s])
    assert.equal(byTarget.size, 3, JSON.stringify([...byTarget.keys()]))
    for (const [t, snaps] of byTarget) {
      assert.deepEqual(
        snaps.map((s) => s.id),
        [save.json.data.name],
        t,
      )
      assert.equal(snaps[0].complete, true)
    }
    // The SFTP copy is a real file on the node, owned by the node's login user.
    const ls = await lab.sshExec('n2', `ls -l ${sftpDir}`)
    assert.match(ls.stdout, new RegExp(`${save.json.data.name}\\.db`))
    assert.match(ls.stdout, new RegExp(`${save.json.data.name}\\.manifest\\.json`))
  })

  it('verify reads the remote copies back (S3 and SFTP) and checks their hashes', async () => {
    const id = (await cli(['snapshot', 'list', '--json'])).json.data.snapshots[0].id
    for (const target of ['1', '2']) {
      const v = await cli(['snapshot', 'verify', id, '--target', target, '--json'])
      assert.equal(v.exitCode, 0, v.stderr + v.stdout)
      assert.equal(v.json.data.ok, true)
      assert.match(v.json.data.source, target === '1' ? /^s3:/ : /^sftp:/)
    }
    // Corrupt the SFTP copy on the node: verify through that target now fails (exit 3).
    const corrupt = await lab.sshExec(
      'n2',
      `printf 'X' | dd of=${sftpDir}/${id}.db bs=1 seek=200 conv=notrunc 2>/dev/null`,
    )
    assert.equal(corrupt.exitCode, 0)
    const bad = await cli(['snapshot', 'verify', id, '--target', '2', '--json'])
    assert.equal(bad.exitCode, 3)
  })

  it('an unreachable target fails that target only, and the save exits 3 after storing the others', async () => {
    const doc = parseDocument(await readFile(lab.configPath, 'utf8'))
    const idx = (doc.toJS().contexts as {name: string}[]).findIndex((c) => c.name === 'lab')
    doc.setIn(['contexts', idx, 'snapshots', 'targets', 1, 'endpoint'], 'http://127.0.0.1:1')
    await writeFile(lab.configPath, doc.toString())
    const save = await cli(['snapshot', 'save', '--json'])
    assert.equal(save.exitCode, 3, save.stderr)
    const outcomes = save.json.data.targets as {target: string; ok: boolean}[]
    assert.deepEqual(
      outcomes.map((t) => t.ok),
      [true, false, true],
    )
  })

  it('falls back to another member when the one asked for cannot stream', async () => {
    await lab.killMember('n1')
    try {
      const save = await cli(['snapshot', 'save', '--endpoint', 'n1', '--target', '0', '--json'])
      assert.equal(save.exitCode, 0, save.stderr)
      const attempts = save.json.data.attempts as {member: string; error?: string}[]
      assert.equal(attempts[0].member, 'n1')
      assert.ok(attempts[0].error)
      assert.notEqual(save.json.data.manifest.sourceMember, 'n1')
    } finally {
      await lab.startMember('n1')
    }
  })
})
