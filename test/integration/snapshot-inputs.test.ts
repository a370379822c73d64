// Damaged and missing snapshot files, and a changed SFTP host key, through the real CLI on a lab.
import assert from 'node:assert/strict'
import {createHash} from 'node:crypto'
import {copyFile, mkdir, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseDocument} from 'yaml'
import {type Lab, startLab} from '../helpers/lab.js'

describe('snapshot verify, list and targets with bad input on a real lab', () => {
  let lab: Lab
  let env: Record<string, string>
  let dir: string
  let work: string
  const cli = (args: string[]) => lab.cli(args, {env})
  const save = async (): Promise<string> => {
    const r = await cli(['snapshot', 'save', '--target', '0', '--json'])
    assert.equal(r.exitCode, 0, r.stderr + r.stdout)
    return r.json.data.name as string
  }
  const setTargets = async (targets: string[]) => {
    const doc = parseDocument(await readFile(lab.configPath, 'utf8'))
    const idx = (doc.toJS().contexts as {name: string}[]).findIndex((c) => c.name === 'lab')
    doc.setIn(['contexts', idx, 'snapshots'], doc.createNode({targets}))
    await writeFile(lab.configPath, doc.toString())
  }

  before(async () => {
    lab = await startLab({nodes: 3})
    work = join(lab.dir, '..', 'work')
    dir = join(work, 'snapshots')
    await mkdir(work, {recursive: true})
    env = {PLASMACTL_STATE_DIR: join(work, 'state')}
    await setTargets([`file://${dir}`])
  })

  after(async () => {
    await lab?.stop()
  })

  it('a file cut short whose SHA-256 trailer was recomputed fails verify on its bbolt structure', async () => {
    const name = await save()
    const ok = await cli(['snapshot', 'verify', name, '--json'])
    assert.equal(ok.exitCode, 0, ok.stderr + ok.stdout)
    assert.deepEqual(
      ok.json.data.checks.filter((c: {check: string}) => c.check.startsWith('bbolt')).map((c: {ok: boolean}) => c.ok),
      [true, true],
    )
    // Drop the last page of the database and append a fresh, matching trailer.
    const bytes = await readFile(join(dir, `${name}.db`))
    const db = bytes.subarray(0, bytes.length - 32 - 4096)
    const cut = join(work, 'cut.db')
    await writeFile(cut, Buffer.concat([db, createHash('sha256').update(db).digest()]))
    const bad = await cli(['snapshot', 'verify', cut, '--json'])
    assert.equal(bad.exitCode, 3, bad.stderr + bad.stdout)
    const checks = Object.fromEntries(
      bad.json.data.checks.map((c: {check: string; ok: boolean; detail: string}) => [c.check, c]),
    )
    assert.equal(checks.trailer.ok, true, 'the trailer matches: only the structure can tell')
    assert.equal(checks['bbolt-pages'].ok, false)
    assert.match(checks['bbolt-pages'].detail, /references \d+ pages of 4096 bytes .* \(truncated\)/)
    const human = await cli(['snapshot', 'verify', cut])
    assert.equal(human.exitCode, 3)
    assert.match(human.stdout, /FAIL bbolt-pages: meta page \d references/)
  })

  it('a missing data file or an invalid manifest exits 3 with a plain message, by name and by path', async () => {
    const name = await save()
    const copy = join(work, 'copy')
    await mkdir(copy, {recursive: true})
    await copyFile(join(dir, `${name}.db`), join(copy, `${name}.db`))
    await writeFile(join(copy, `${name}.manifest.json`), '{"format": "plasmactl-snapshot/v1", "name": 42')
    await writeFile(join(dir, `${name}.manifest.json`), '{"format": "something-else"}')
    for (const args of [[name], [join(copy, `${name}.db`)]]) {
      const r = await cli(['snapshot', 'verify', ...args])
      assert.equal(r.exitCode, 3, `${args}: ${r.stderr}${r.stdout}`)
      assert.match(r.stderr, /manifest is (not valid JSON|invalid)/)
      assert.doesNotMatch(r.stderr, /this is a bug/)
    }
    const other = await save()
    await rm(join(dir, `${other}.db`))
    const byName = await cli(['snapshot', 'verify', other])
    assert.equal(byName.exitCode, 3, byName.stderr)
    assert.match(byName.stderr, new RegExp(`snapshot ${other} has a manifest but no data file`))
    assert.doesNotMatch(byName.stderr, /this is a bug/)
    const byPath = await cli(['snapshot', 'verify', join(dir, `${other}.db`)])
    assert.equal(byPath.exitCode, 3, byPath.stderr)
    assert.match(byPath.stderr, /does not exist/)
  })

  it('list says what it checked: "size ok" without --verify, "verified" or "corrupt" with it', async () => {
    await rm(dir, {recursive: true, force: true})
    const good = await save()
    const bad = await save()
    // Same size, one byte changed in the middle: only reading the file finds it.
    const f = join(dir, `${bad}.db`)
    const bytes = await readFile(f)
    bytes[bytes.length >> 1] ^= 0xff
    await writeFile(f, bytes)
    const list = await cli(['snapshot', 'list'])
    assert.equal(list.exitCode, 0, list.stderr)
    assert.match(list.stdout, new RegExp(`${good}\\s.*size ok`))
    assert.match(list.stdout, new RegExp(`${bad}\\s.*size ok`))
    assert.doesNotMatch(list.stdout, /complete|verified/)
    const verified = await cli(['snapshot', 'list', '--verify'])
    assert.equal(verified.exitCode, 3, verified.stderr)
    assert.match(verified.stdout, new RegExp(`${good}\\s.*verified`))
    assert.match(verified.stdout, new RegExp(`${bad}\\s.*corrupt`))
    const json = await cli(['snapshot', 'list', '--verify', '--json'])
    const byId = Object.fromEntries(json.json.data.snapshots.map((s: {id: string}) => [s.id, s]))
    assert.equal(byId[good].checked, 'hash')
    assert.equal(byId[bad].state, 'corrupt')
    assert.match(byId[bad].error, /trailer/)
  })

  it('a changed host key on an SFTP target is refused with exit 6, like every other host-key refusal', async () => {
    const sftpDir = join(lab.dir, 'nodes', 'n2', 'backups')
    await setTargets([`file://${dir}`, `sftp://n2${sftpDir}`])
    const stored = await cli(['snapshot', 'save', '--json'])
    assert.equal(stored.exitCode, 0, stored.stderr + stored.stdout)
    // n2 now presents a key other than the one known_hosts records for it (n1's key stands in).
    const khFile = join(lab.dir, 'ssh', 'known_hosts')
    const known = await readFile(khFile, 'utf8')
    const hostOf = (n: string) =>
      `[${lab.nodes.find((x) => x.name === n)!.address}]:${lab.nodes.find((x) => x.name === n)!.sshPort}`
    const keyOf = (n: string) =>
      known
        .split('\n')
        .find((l) => l.startsWith(`${hostOf(n)} `))!
        .split(' ')
        .slice(1)
        .join(' ')
    const forged = known
      .split('\n')
      .map((l) => (l.startsWith(`${hostOf('n2')} `) ? `${hostOf('n2')} ${keyOf('n1')}` : l))
      .join('\n')
    assert.notEqual(forged, known)
    await writeFile(khFile, forged)
    try {
      for (const args of [
        ['snapshot', 'list'],
        ['snapshot', 'save'],
        ['snapshot', 'verify', stored.json.data.name, '--target', '1'],
        ['snapshot', 'list', '--target', '1'],
      ]) {
        const r = await cli(args)
        assert.equal(r.exitCode, 6, `${args.join(' ')}: ${r.stderr}${r.stdout}`)
        assert.match(r.stderr, /host key/i)
      }
    } finally {
      await writeFile(khFile, known)
      await setTargets([`file://${dir}`])
    }
  })
})
