/**
 * One cluster lock for every change, through the real binary on a real lab: each mutating command
 * attempted while each other one holds the lock (the lock matrix), signals that give the lease back,
 * a lock file left empty by a full disk, and partial files of other runs in a shared file target.
 */
import assert from 'node:assert/strict'
import {type ChildProcess, spawn, spawnSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdir, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {createServer, type Server, type Socket} from 'node:net'
import {hostname, userInfo} from 'node:os'
import {basename, join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseDocument} from 'yaml'
import type {ChainfireClient} from '../../src/adapters/chainfire/index.js'
import {loadConfig, selectContext} from '../../src/config/load.js'
import {lockKeys} from '../../src/services/lock.js'
import {type CliResult, eventually, exitOf, type Lab, REPO_ROOT, startLab} from '../helpers/lab.js'
import {clientOf, memberNames} from '../helpers/node.js'

const CLUSTER_KEY = '/plasmactl/locks/cluster'
const SNAPSHOT_KEY = '/plasmactl/locks/snapshot/lab'

interface Holder {
  child: ChildProcess
  exit: Promise<{code: number | null; signal: NodeJS.Signals | null}>
  out: () => string
}

function spawnCli(lab: Lab, args: string[], env: Record<string, string>, viaTerminal = false): Holder {
  const argv = [process.execPath, join(REPO_ROOT, 'bin', 'run.js'), ...args]
  // On a terminal (util-linux `script`) a command waits at its confirmation prompt, holding its lock.
  const [cmd, cmdArgs] = viaTerminal
    ? ['script', ['-qfec', argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' '), '/dev/null']]
    : [argv[0], argv.slice(1)]
  const child = spawn(cmd, cmdArgs as string[], {
    env: {...process.env, PLASMACTL_CONFIG: lab.configPath, TERM: 'xterm', ...env},
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (out += d))
  // Bounded: the longest holder (a runbook step of `sleep 300`) is ended by its test long before.
  return {child, exit: exitOf(child, 400_000), out: () => out}
}

/** An S3 endpoint that accepts connections and never answers: a save uploading there holds its lock until killed. */
async function silentS3(): Promise<{url: string; close: () => void}> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((s) => {
    sockets.add(s)
    s.on('error', () => undefined)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as {port: number}).port
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      for (const s of sockets) s.destroy()
      server.close()
    },
  }
}

async function editContext(
  lab: Lab,
  edit: (ctx: Record<string, unknown>, nodes: Record<string, Record<string, unknown>>) => void,
): Promise<void> {
  const doc = parseDocument(await readFile(lab.configPath, 'utf8'))
  const js = doc.toJS() as {contexts: Record<string, unknown>[]}
  const idx = js.contexts.findIndex((c) => c.name === 'lab')
  const ctx = js.contexts[idx]
  const nodes = Object.fromEntries((ctx.nodes as Record<string, unknown>[]).map((n) => [n.name as string, n]))
  edit(ctx, nodes)
  doc.setIn(['contexts', idx], doc.createNode(ctx))
  await writeFile(lab.configPath, doc.toString())
}

describe('one cluster lock for every change (real 3-node lab)', () => {
  let lab: Lab
  let client: ChainfireClient
  let work: string
  let targetDir: string
  let env: Record<string, string>
  /** Another machine: its own state dir, so only the ChainFire lock can refuse its commands. */
  let other: Record<string, string>
  let s3: {url: string; close: () => void}
  let snapshotId: string
  let quick: string
  const me = `${userInfo().username}@${hostname()}`
  const holders: Holder[] = []

  const release = (node: string) => join(work, `release-${node}`)
  /** Lock keys held now (a slot's record, which stays, is not a lock). */
  const locksHeld = async () =>
    (await client.getPrefix('/plasmactl/locks/')).kvs
      .map((kv) => kv.key.toString())
      .filter((k) => !k.includes('/snapshot-slot/'))
  /** Waits until a lock key is held for PURPOSE; returns the key and its holder. */
  const heldBy = (purpose: RegExp) =>
    eventually(
      async () => {
        for (const kv of (await client.getPrefix('/plasmactl/locks/')).kvs) {
          const v = JSON.parse(kv.value.toString()) as {pid: number; runId: string; purpose: string}
          if (purpose.test(v.purpose)) return {...v, key: kv.key.toString()}
        }
        return undefined
      },
      60_000,
      `a lock held for ${purpose}`,
    )

  function assertRefused(r: CliResult, holder: {pid: number; runId: string}, cell: string) {
    const text = r.stderr + r.stdout
    assert.equal(r.exitCode, 6, `${cell}: exit ${r.exitCode}\n${text}`)
    for (const part of [me, `pid ${holder.pid}`, holder.runId, 'since'])
      assert.ok(text.includes(part), `${cell}: the refusal names ${part}\n${text}`)
  }

  const attempt = {
    runbook: () => lab.cli(['runbook', 'run', quick, '--yes'], {env: other}),
    remove: () => lab.cli(['node', 'remove', 'n2', '--yes'], {env: other}),
    add: () => lab.cli(['node', 'add', 'n4', '--yes'], {env: other}),
    restore: () => lab.cli(['snapshot', 'restore', snapshotId, '--yes'], {env: other}),
    save: () => lab.cli(['snapshot', 'save', '--target', '0', '--json'], {env: other}),
    leader: () => lab.cli(['chainfire', 'move-leader'], {env: other}),
  }

  /** The cells of a row in which the attempt must be refused, naming HOLDER. */
  async function refusedCells(holder: {pid: number; runId: string}, row: string, cells: (keyof typeof attempt)[]) {
    for (const c of cells) assertRefused(await attempt[c](), holder, `${c} while ${row} holds the lock`)
  }

  /** Runs FN while H runs; if FN fails, H is killed and its locks cleared so the next row starts clean. */
  async function holding(h: Holder, fn: () => Promise<void>) {
    holders.push(h)
    try {
      await fn()
    } catch (error) {
      if (h.child.exitCode === null && h.child.signalCode === null) h.child.kill('SIGKILL')
      await h.exit
      await client.deletePrefix('/plasmactl/locks/')
      throw error
    }
  }

  before(async () => {
    lab = await startLab({nodes: 3})
    work = join(lab.dir, '..')
    env = {PLASMACTL_STATE_DIR: join(work, 'state')}
    other = {PLASMACTL_STATE_DIR: join(work, 'state-other')}
    // A node for `node add` (its sshd runs; ChainFire joins only through node add).
    for (const n of ['n4']) {
      const r = await lab.cli(['lab', 'add-node', n, '--json'])
      assert.equal(r.exitCode, 0, r.stderr + r.stdout)
      lab.nodes.push({
        name: n,
        address: r.json.data.node.address,
        clientUrl: r.json.data.node.clientUrl,
        sshPort: r.json.data.node.sshPort,
      })
    }
    targetDir = join(work, 'snapshots')
    s3 = await silentS3()
    await editContext(lab, (ctx) => {
      // Long leases: a lease that outlived its holder would refuse the next command for 30 s.
      ctx.chainfire = {...(ctx.chainfire as object), 'lock-ttl': '30s'}
      ctx.snapshots = {
        'lock-ttl': '30s',
        targets: [
          `file://${targetDir}`,
          {
            url: 's3://silent/backups',
            endpoint: s3.url,
            'path-style': true,
            'access-key-id': 'k',
            'secret-access-key': 's',
          },
        ],
      }
    })
    client = clientOf(lab, ['n1', 'n2', 'n3'])
    quick = join(work, 'quick.yaml')
    await writeFile(
      quick,
      'apiVersion: plasmactl/v1\nkind: Runbook\nmetadata:\n  name: quick\nsteps:\n  - id: q\n    kind: run\n    on: n1\n    command: "true"\n',
    )
    await writeFile(
      join(work, 'holder.yaml'),
      'apiVersion: plasmactl/v1\nkind: Runbook\nmetadata:\n  name: lockholder\nsteps:\n  - id: wait\n    kind: run\n    on: n1\n    command: sleep 300\n',
    )
    const save = await lab.cli(['snapshot', 'save', '--target', '0', '--json'], {env})
    assert.equal(save.exitCode, 0, save.stderr + save.stdout)
    snapshotId = save.json.data.name
  })

  after(async () => {
    for (const h of holders) if (h.child.exitCode === null && h.child.signalCode === null) h.child.kill('SIGKILL')
    s3?.close()
    client?.close()
    await lab?.stop()
  })

  it('an empty lock file (left by a full disk) is stale: saves and runbooks go on', async () => {
    const locks = join(env.PLASMACTL_STATE_DIR, 'locks')
    await mkdir(locks, {recursive: true})
    const ctx = selectContext(await loadConfig(lab.configPath), 'lab')
    // The restore's two lock files (cluster and snapshot), named as the CLI names them.
    const files = lockKeys(ctx, 'restore').map((k) => join(locks, basename(k.file)))
    assert.equal(files.length, 2)
    for (const f of files) await writeFile(f, '')
    try {
      const save = await lab.cli(['snapshot', 'save', '--target', '0', '--json'], {env})
      assert.equal(save.exitCode, 0, save.stderr + save.stdout)
      const run = await lab.cli(['runbook', 'run', quick, '--yes'], {env})
      assert.equal(run.exitCode, 0, run.stderr + run.stdout)
      assert.deepEqual(await readdir(locks), [], 'every lock file was released')
    } finally {
      for (const f of files) await rm(f, {force: true})
    }
  })

  it("a save removes only partial files of dead runs: a live run's (another context sharing the target) survives", async () => {
    const dead = spawnSync('true').pid
    const live = `snapshot.partial-${process.pid}@${hostname()}.aaaa0001`
    const liveUpload = `lab2-20261202t000000z-r1.db.partial-${process.pid}@${hostname()}.aaaa0002`
    const otherHost = `snapshot.partial-4242@cron-b.example.aaaa0003`
    const deadRun = `snapshot.partial-${dead}@${hostname()}.aaaa0004`
    for (const f of [live, liveUpload, otherHost, deadRun]) await writeFile(join(targetDir, f), 'in flight')
    const save = await lab.cli(['snapshot', 'save', '--target', '0', '--json'], {env})
    assert.equal(save.exitCode, 0, save.stderr + save.stdout)
    const left = await readdir(targetDir)
    for (const f of [live, liveUpload, otherHost]) assert.ok(left.includes(f), `${f} survived`)
    assert.ok(!left.includes(deadRun), 'the partial of a dead process of this host is cleaned up')
  })

  it('three hosts saving the same slot: exactly one snapshot is taken, the others exit 0 "already taken for this slot"', async () => {
    const manifests = async () => (await readdir(targetDir)).filter((f) => f.endsWith('.manifest.json'))
    const before = await manifests()
    const hosts = ['cron-a', 'cron-b', 'cron-c'].map((h) =>
      spawnCli(lab, ['snapshot', 'save', '--target', '0', '--slot', '24h'], {PLASMACTL_STATE_DIR: join(work, h)}),
    )
    const exits = await Promise.all(hosts.map((h) => h.exit))
    for (const [i, e] of exits.entries()) assert.equal(e.code, 0, hosts[i].out())
    const skipped = hosts.filter((h) => /already taken for this slot/.test(h.out()))
    assert.equal(skipped.length, 2, hosts.map((h) => h.out()).join('\n---\n'))
    const added = (await manifests()).filter((f) => !before.includes(f))
    assert.equal(added.length, 1, `one snapshot for the slot: ${added.join(' ')}`)
    for (const h of skipped)
      assert.ok(h.out().includes(added[0].replace('.manifest.json', '')), "the skipped runs name the slot's snapshot")
    const again = await lab.cli(['snapshot', 'save', '--target', '0', '--slot', '24h'], {env})
    assert.equal(again.exitCode, 0, again.stderr)
    assert.match(again.stdout, /already taken for this slot/)
    const bad = await lab.cli(['snapshot', 'save', '--slot', '0s'], {env})
    assert.equal(bad.exitCode, 2, bad.stderr)
  })

  it('lock matrix, row "runbook": every change is refused naming the holder, a save is safe; SIGTERM gives the lease back', async () => {
    const h = spawnCli(lab, ['runbook', 'run', join(work, 'holder.yaml'), '--yes', '--lock-ttl', '30s'], env)
    await holding(h, async () => {
      const v = await heldBy(/^runbook lockholder$/)
      const leaderBefore = (await client.status({name: 'n1', url: lab.nodes[0].clientUrl})).leader
      await refusedCells(v, 'a runbook', ['runbook', 'remove', 'add', 'restore', 'leader'])
      assert.equal(
        (await client.status({name: 'n1', url: lab.nodes[0].clientUrl})).leader,
        leaderBefore,
        'move-leader moved nothing',
      )
      assert.equal(v.key, CLUSTER_KEY)
      assert.deepEqual(await memberNames(client), ['n1', 'n2', 'n3'], 'nothing was removed or added')
      const save = await attempt.save()
      assert.equal(save.exitCode, 0, `save while a runbook holds the lock (read-only, safe): ${save.stderr}`)
      h.child.kill('SIGTERM')
      assert.equal((await h.exit).signal, 'SIGTERM')
    })
    assert.deepEqual(await locksHeld(), [], 'the lease was revoked before exiting')
    const next = await attempt.runbook()
    assert.equal(next.exitCode, 0, next.stderr)
  })

  it('lock matrix, row "snapshot save": saves and restores are refused naming the holder, changes are safe; SIGINT gives the lease back', async () => {
    const h = spawnCli(lab, ['snapshot', 'save', '--target', '1'], env)
    await holding(h, async () => {
      const v = await heldBy(/^snapshot save$/)
      assert.equal(v.key, SNAPSHOT_KEY)
      await refusedCells(v, 'a save', ['save', 'restore'])
      // A save only reads the cluster: changes go on while it streams (each under the cluster lock).
      const run = await attempt.runbook()
      assert.equal(run.exitCode, 0, run.stderr)
      const add = await attempt.add()
      assert.equal(add.exitCode, 0, add.stderr)
      const remove = await lab.cli(['node', 'remove', 'n4', '--yes'], {env: other})
      assert.equal(remove.exitCode, 0, remove.stderr)
      assert.deepEqual(await memberNames(client), ['n1', 'n2', 'n3'])
      h.child.kill('SIGINT')
      assert.equal((await h.exit).signal, 'SIGINT')
    })
    const next = await attempt.save()
    assert.equal(next.exitCode, 0, `a save right after the holder's Ctrl-C: ${next.stderr}`)
  })

  it('lock matrix, row "snapshot restore" (at its confirmation prompt): every other command is refused naming the holder; Ctrl-C gives the lease back', async () => {
    const h = spawnCli(lab, ['snapshot', 'restore', snapshotId], env, true)
    await holding(h, async () => {
      const v = await heldBy(/^snapshot restore$/)
      assert.equal(v.key, CLUSTER_KEY)
      assert.equal(
        JSON.parse((await client.get(SNAPSHOT_KEY)).kvs[0].value.toString()).runId,
        v.runId,
        'a restore holds the snapshot lock too',
      )
      await eventually(async () => /Restore context/.test(h.out()), 60_000, 'restore prompt')
      await refusedCells(v, 'a restore', ['runbook', 'remove', 'add', 'save', 'restore'])
      assert.deepEqual(await memberNames(client), ['n1', 'n2', 'n3'])
      h.child.stdin!.write('\u0003')
      assert.equal((await h.exit).code, 130)
    })
    assert.deepEqual(await locksHeld(), [])
    const next = await attempt.runbook()
    assert.equal(next.exitCode, 0, next.stderr)
  })

  it('lock matrix, rows "node add" and "node remove": every change is refused naming the holder, a save is safe', async () => {
    // The node's service starts (in the background) and stops only once the test says so: the
    // operation holds the lock meanwhile, waiting for the member to catch up or for the stop (bounds: 10m).
    const script = (verb: string) => `${join(lab.dir, 'nodes', '{node}', 'bin', 'service')} chainfire ${verb}`
    const waitFor = (f: string) => `while [ ! -e ${f} ]; do sleep 0.2; done`
    await editContext(lab, (_ctx, nodes) => {
      nodes.n4.services = {
        chainfire: {
          start: `setsid sh -c '${waitFor(release('start'))}; ${script('start')}' </dev/null >/dev/null 2>&1 &`,
          stop: `${waitFor(release('stop'))}; ${script('stop')}`,
        },
      }
    })
    const add = spawnCli(lab, ['node', 'add', 'n4', '--yes', '--timeout', '10m'], env)
    await holding(add, async () => {
      const a = await heldBy(/^node add n4$/)
      await refusedCells(a, 'a node add', ['runbook', 'remove', 'add', 'restore'])
      const saveDuringAdd = await attempt.save()
      assert.equal(saveDuringAdd.exitCode, 0, saveDuringAdd.stderr)
      await writeFile(release('start'), '')
      assert.equal((await add.exit).code, 0, add.out())
    })

    const remove = spawnCli(lab, ['node', 'remove', 'n4', '--yes', '--grace', '10m'], env)
    await holding(remove, async () => {
      const r = await heldBy(/^node remove n4$/)
      await eventually(async () => !(await memberNames(client)).includes('n4'), 60_000, 'n4 left the membership')
      await refusedCells(r, 'a node remove', ['runbook', 'remove', 'add', 'restore'])
      const saveDuringRemove = await attempt.save()
      assert.equal(saveDuringRemove.exitCode, 0, saveDuringRemove.stderr)
      await writeFile(release('stop'), '')
      assert.equal((await remove.exit).code, 0, remove.out())
    })
    assert.deepEqual(await memberNames(client), ['n1', 'n2', 'n3'])
    assert.ok(existsSync(release('stop')))
  })
})
