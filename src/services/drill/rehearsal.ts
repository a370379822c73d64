import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {ChainfireClient, chainfireClientFor} from '../../adapters/chainfire/index.js'
import {freePort, isRunning, readPidFile, runChecked, terminate, which} from '../../adapters/exec/index.js'
import type {Context} from '../../config/schema.js'
import {OperationError, RefusedError} from '../../errors.js'
import {shellQuote} from '../../shell-quote.js'
import {Journal} from '../journal.js'
import {LOCK_PREFIX, operatorName} from '../lock.js'
import type {Reporter} from '../reporter.js'
import {listSnapshots, locate, withLocalCopy, withTargets} from '../snapshot/catalog.js'
import type {Manifest} from '../snapshot/manifest.js'
import {secs} from './analyze.js'
import {deadManCommand} from './faults.js'
import type {HealthSample} from './monitor.js'
import {writeDrillReport} from './report.js'
import {endDrillRun, objectiveAtMost} from './slo.js'
import type {DrillResult, RehearsalCheck, RehearsalMeasures, SloResult} from './types.js'

export interface RehearsalOptions {
  loaded: Parameters<typeof chainfireClientFor>[0]
  ctx: Context
  reporter: Reporter
  /** The drills' journal directory ($STATE/drills). */
  journalDir: string
  reportDir?: string
  /** Longest wait for the throwaway cluster to serve. */
  timeoutSeconds: number
  /** RTO objective of the context (drills.rto), in seconds. */
  rtoSeconds?: number
  /** Members of the throwaway cluster, each restored from the snapshot as a real restore does (default 1). */
  members?: number
}

/** One member of the throwaway cluster. */
interface ThrowawayMember {
  name: string
  clientUrl: string
  peerUrl: string
  dataDir: string
  pidFile: string
  log: string
}

/** N members on 127.0.0.1 with distinct free ports, their files under DIR. */
async function throwawayMembers(dir: string, n: number): Promise<ThrowawayMember[]> {
  const host = '127.0.0.1'
  const ports = new Set<number>()
  while (ports.size < 2 * n) ports.add(await freePort(host))
  const [...free] = ports
  return Array.from({length: n}, (_, i) => {
    const name = n === 1 ? NAME : `${NAME}-${i + 1}`
    return {
      name,
      clientUrl: `http://${host}:${free[2 * i]}`,
      peerUrl: `http://${host}:${free[2 * i + 1]}`,
      dataDir: join(dir, n === 1 ? 'data' : `${name}.data`),
      pidFile: join(dir, n === 1 ? 'etcd.pid' : `${name}.pid`),
      log: join(dir, n === 1 ? 'etcd.log' : `${name}.log`),
    }
  })
}

const NAME = 'rehearsal'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The restore program the lab and the restore command use: etcdutl where installed, else etcdctl (3.4). */
async function restoreTool(): Promise<{tool: string; file: string; env: Record<string, string>}> {
  const etcdutl = await which('etcdutl')
  if (etcdutl) return {tool: 'etcdutl', file: etcdutl, env: {}}
  const etcdctl = await which('etcdctl')
  if (etcdctl) return {tool: 'etcdctl', file: etcdctl, env: {ETCDCTL_API: '3'}}
  throw new OperationError('restore rehearsal: neither etcdutl nor etcdctl is installed on this machine', {
    hint: 'install etcd-client (Debian) or etcdutl',
  })
}

/** The newest snapshot whose file was read and verified (hash, structure, manifest). */
async function newestVerified(o: RehearsalOptions) {
  const listing = await listSnapshots({loaded: o.loaded, ctx: o.ctx, verify: true})
  const entry = listing.snapshots.find((e) => e.complete && e.checked === 'hash' && e.manifest)
  if (!entry)
    throw new RefusedError(
      `preflight: restore-rehearsal needs a verified snapshot with a manifest (newest: ${listing.snapshots[0]?.id ?? 'none'}${listing.snapshots[0]?.error ? `: ${listing.snapshots[0].error}` : ''})`,
      {hint: 'plasmactl snapshot save'},
    )
  return entry
}

/**
 * HashKV of the live cluster at REVISION: the hash the restored copy must reproduce. Null (with why)
 * when the live members compacted past it or no member answers: then only the key count is compared.
 */
async function liveHash(
  o: RehearsalOptions,
  revision: number,
): Promise<{hash: number; compactRevision: number} | {why: string}> {
  const client = chainfireClientFor(o.loaded, o.ctx, {commandTimeoutMs: 10_000})
  let why = 'no member answered'
  try {
    for (const ep of client.endpoints) {
      try {
        const r = await client.hashKV(ep, revision)
        return {hash: r.hash, compactRevision: r.compactRevision}
      } catch (error) {
        why = `${ep.name}: ${(error as Error).message}`
        if (/compacted/i.test(why)) return {why: `the live cluster compacted past revision ${revision}`}
      }
    }
    return {why}
  } finally {
    client.close()
  }
}

/**
 * The restore rehearsal: restores the newest verified snapshot into a throwaway cluster on this
 * machine (one member, or --members N each restored from the snapshot as a real restore does;
 * loopback, free ports, a temp dir; never a live member), times it to a serving cluster, checks the
 * key count and HashKV at the snapshot's revision (and that every member holds the same data), and
 * tears it down, also on failure, Ctrl-C, or (dead-man timer) when plasmactl dies.
 */
export async function runRestoreRehearsal(o: RehearsalOptions): Promise<DrillResult> {
  const entry = await newestVerified(o)
  const manifest = entry.manifest as Manifest
  const [etcd, tool] = await Promise.all([which('etcd'), restoreTool()])
  if (!etcd)
    throw new OperationError('restore rehearsal: etcd is not installed on this machine', {
      hint: 'install etcd-server (Debian)',
    })
  const runId = Journal.newId('drill')
  const journal = await Journal.create(o.journalDir, runId, {
    kind: 'drill',
    drill: 'restore-rehearsal',
    context: o.ctx.name,
    operator: operatorName(),
    target: entry.id,
  })
  const dir = await mkdtemp(join(tmpdir(), `plasmactl-rehearsal-${runId}-`))
  const marker = `${dir}.torn-down`
  const members = await throwawayMembers(dir, o.members ?? 1)
  const initialCluster = members.map((x) => `${x.name}=${x.peerUrl}`).join(',')
  const {clientUrl, peerUrl} = members[0]
  const checks: RehearsalCheck[] = []
  let tornDown = false
  let client: ChainfireClient | undefined
  const teardown = async () => {
    if (tornDown) return
    client?.close()
    await writeFile(marker, '').catch(() => undefined)
    await Promise.all(
      members.map(async (x) => {
        const pid = await readPidFile(x.pidFile)
        if (pid && (await isRunning(pid, 'etcd'))) await terminate(pid, 5000)
      }),
    )
    await rm(dir, {recursive: true, force: true})
    tornDown = true
  }
  // Ctrl-C / SIGTERM: tear the throwaway cluster down, then end as the signal would have.
  const onSignal = (sig: NodeJS.Signals) => {
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.removeListener(s, onSignal)
    o.reporter.warn(`interrupted: tearing the rehearsal cluster down (${dir})`)
    void Promise.race([
      Promise.all([journal.append({type: 'abort', data: {reason: sig, state: 'torn down'}}), teardown()]),
      sleep(5000),
    ])
      .catch(() => undefined)
      .finally(() => process.kill(process.pid, sig))
  }
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.prependListener(s, onSignal)
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    await journal.append({type: 'step-start', step: name})
    try {
      const r = await fn()
      await journal.append({type: 'step-end', step: name, ok: true})
      return r
    } catch (error) {
      await journal.append({type: 'step-end', step: name, ok: false, error: (error as Error).message})
      throw error
    }
  }
  const t0 = performance.now()
  const since = () => secs(performance.now() - t0)!
  /** Every probe of the restored member while it came up (seconds since the start): the timeline's ticks. */
  const probes: HealthSample[] = []
  const m: RehearsalMeasures = {
    timeToServingSeconds: null,
    restoreSeconds: null,
    startSeconds: null,
    revision: null,
    expectedRevision: manifest.revision,
    keyCount: null,
    expectedKeyCount: manifest.keyCount,
    hashKV: null,
    expectedHashKV: null,
    expectedHashKVFrom: null,
  }
  let failure: string | undefined
  try {
    // Dead-man timer: a detached sleep that kills the throwaway members and deletes their dir.
    const deadManSeconds = o.timeoutSeconds + 300
    const undo = `kill -9 $(cat ${members.map((x) => shellQuote(x.pidFile)).join(' ')} 2>/dev/null) 2>/dev/null; rm -rf ${shellQuote(dir)}`
    await runChecked('/bin/sh', ['-c', deadManCommand(undo, deadManSeconds, marker)], {timeoutMs: 15_000})
    o.reporter.info(
      `restore rehearsal (run ${runId}): snapshot ${entry.id} (revision ${manifest.revision}) into ${members.length === 1 ? 'a throwaway member' : `${members.length} throwaway members`} at ${members.map((x) => x.clientUrl).join(', ')}, ${dir}`,
    )
    await step('restore', () =>
      withTargets({loaded: o.loaded, ctx: o.ctx}, async (targets) =>
        withLocalCopy(await locate(targets, entry.id), async (path) => {
          // One restore per member from the same file, as a real restore of a cluster does.
          for (const x of members)
            await runChecked(
              tool.file,
              [
                'snapshot',
                'restore',
                path,
                '--name',
                x.name,
                '--initial-cluster',
                initialCluster,
                '--initial-cluster-token',
                `plasmactl-${runId}`,
                '--initial-advertise-peer-urls',
                x.peerUrl,
                '--data-dir',
                x.dataDir,
              ],
              {env: tool.env, timeoutMs: o.timeoutSeconds * 1000},
            )
        }),
      ),
    )
    m.restoreSeconds = since()
    await step('start', async () => {
      for (const x of members) {
        const args = [
          etcd,
          '--name',
          x.name,
          '--data-dir',
          x.dataDir,
          '--listen-client-urls',
          x.clientUrl,
          '--advertise-client-urls',
          x.clientUrl,
          '--listen-peer-urls',
          x.peerUrl,
          '--initial-advertise-peer-urls',
          x.peerUrl,
          '--initial-cluster',
          initialCluster,
        ]
          .map(shellQuote)
          .join(' ')
        await runChecked(
          '/bin/sh',
          ['-c', `setsid nohup ${args} >${shellQuote(x.log)} 2>&1 </dev/null & echo $! >${shellQuote(x.pidFile)}`],
          {timeoutMs: 15_000},
        )
      }
    })
    m.startSeconds = since()
    client = new ChainfireClient({
      endpoints: members.map((x) => ({name: x.name, url: x.clientUrl})),
      commandTimeoutMs: 2000,
      retries: 0,
    })
    const ep = client.endpoints[0]
    await step('wait-serving', async () => {
      const deadline = performance.now() + o.timeoutSeconds * 1000
      for (;;) {
        const started = since()
        try {
          // Serving: every member answers a linearizable read (a restored cluster has elected a leader).
          await Promise.all(client!.endpoints.map((e) => client!.linearizableRead(e, 1000)))
          probes.push({started, t: since(), status: 'ok'})
          return
        } catch (error) {
          probes.push({started, t: since(), status: 'down'})
          for (const x of members) {
            const pid = await readPidFile(x.pidFile)
            if (!pid || !(await isRunning(pid, 'etcd'))) {
              const tail = (await readFile(x.log, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join('; ')
              throw new OperationError(`the restored member ${x.name} exited: ${tail || 'no log'}`, {file: x.log})
            }
          }
          if (performance.now() > deadline)
            throw new OperationError(
              `the restored cluster did not serve within ${o.timeoutSeconds}s: ${(error as Error).message}`,
            )
          await sleep(100)
        }
      }
    })
    m.timeToServingSeconds = since()
    o.reporter.info(`serving after ${m.timeToServingSeconds}s; checking revision, key count and HashKV`)
    await step('check', async () => {
      const status = await client!.status(ep)
      m.revision = status.header.revision
      checks.push({
        check: 'revision',
        ok: m.revision >= manifest.revision,
        detail: `restored revision ${m.revision}, the manifest's ${manifest.revision}`,
      })
      m.keyCount = (await client!.keyCount(ep, LOCK_PREFIX, manifest.revision)).count
      checks.push(
        manifest.keyCount === null
          ? {check: 'key-count', ok: true, detail: `${m.keyCount} keys; the manifest recorded none to compare`}
          : {
              check: 'key-count',
              ok: m.keyCount === manifest.keyCount,
              detail: `${m.keyCount} keys at revision ${manifest.revision}, the manifest says ${manifest.keyCount}`,
            },
      )
      const mine = await client!.hashKV(ep, manifest.revision)
      m.hashKV = mine.hash
      // The hash recorded at save time when the manifest has one (it holds after the live cluster
      // compacted past the snapshot), else the live cluster's at the snapshot's revision.
      const saved = manifest.hashKV?.revision === manifest.revision ? manifest.hashKV : undefined
      const expected = saved ?? (await liveHash(o, manifest.revision))
      const from = saved ? 'the manifest' : 'the live cluster'
      if ('why' in expected) {
        checks.push({check: 'hash-kv', ok: true, detail: `not compared: ${expected.why}`})
      } else if (expected.compactRevision !== mine.compactRevision) {
        checks.push({
          check: 'hash-kv',
          ok: true,
          detail: `not compared: compacted at ${mine.compactRevision} in the snapshot, ${expected.compactRevision} in ${from}`,
        })
      } else {
        m.expectedHashKV = expected.hash
        m.expectedHashKVFrom = saved ? 'manifest' : 'live'
        checks.push({
          check: 'hash-kv',
          ok: mine.hash === expected.hash,
          detail: `HashKV at revision ${manifest.revision}: ${mine.hash} restored, ${expected.hash} in ${from}`,
        })
      }
      if (members.length > 1) {
        const others = await Promise.all(client!.endpoints.slice(1).map((e) => client!.hashKV(e, manifest.revision)))
        const differ = others.flatMap((h, i) => (h.hash === mine.hash ? [] : [members[i + 1].name]))
        checks.push({
          check: 'members-agree',
          ok: differ.length === 0,
          detail:
            differ.length === 0
              ? `HashKV at revision ${manifest.revision} the same on all ${members.length} members`
              : `HashKV at revision ${manifest.revision} differs on ${differ.join(', ')} from ${members[0].name}'s`,
        })
      }
    })
  } catch (error) {
    failure = (error as Error).message
    o.reporter.warn(`restore rehearsal failed: ${failure}`)
  } finally {
    for (const s of ['SIGINT', 'SIGTERM'] as const) process.removeListener(s, onSignal)
    await step('teardown', teardown).catch((e: Error) =>
      o.reporter.warn(`could not tear the rehearsal cluster down (${dir}): ${e.message}`),
    )
  }
  const slo: SloResult[] = [
    {
      objective: 'the restored snapshot serves',
      limit: `within ${o.timeoutSeconds}s`,
      value: m.timeToServingSeconds,
      pass: m.timeToServingSeconds !== null,
    },
    ...checks.map((c) => ({objective: `restored data: ${c.check}`, limit: 'matches', value: c.ok, pass: c.ok})),
    ...(o.rtoSeconds === undefined ? [] : [objectiveAtMost('rto', o.rtoSeconds, m.timeToServingSeconds)]),
    {objective: 'throwaway cluster torn down', limit: 'true', value: tornDown, pass: tornDown},
  ]
  if (failure !== undefined) slo.push({objective: 'rehearsal completed', limit: 'no error', value: false, pass: false})
  const reportDir = o.reportDir ?? join(o.journalDir, runId)
  const end = since()
  const result: DrillResult = {
    ...(await endDrillRun(journal, slo, {runId, drill: 'restore-rehearsal', context: o.ctx.name, reportDir})),
    measures: m,
    slo,
    rehearsal: {
      snapshot: entry.id,
      target: entry.target,
      createdAt: entry.createdAt,
      members: members.length,
      clientUrl,
      peerUrl,
      ...(members.length > 1 ? {clientUrls: members.map((x) => x.clientUrl)} : {}),
      dataDir: members.length === 1 ? members[0].dataDir : dir,
      tool: tool.tool,
      checks,
      tornDown,
      ...(failure === undefined ? {} : {error: failure}),
    },
    // The rehearsal's "fault window": from the start to a serving member.
    timeline: {faultAt: 0, revertedAt: m.startSeconds ?? end, recoveredAt: m.timeToServingSeconds, end},
    health: probes,
    journal: journal.path,
    reportDir,
  }
  await writeDrillReport(reportDir, result, [], journal.path)
  return result
}
