import {join} from 'node:path'
import {chainfireClientFor, type ChainfireClient} from '../../adapters/chainfire/index.js'
import {nodePeerUrl, nodesWithRole} from '../../config/context.js'
import {stateDir} from '../../config/paths.js'
import type {Context, NodeSpec} from '../../config/schema.js'
import {OperationError, RefusedError, refusal, UsageError} from '../../errors.js'
import {checkChainfire} from '../health/probes/chainfire.js'
import {StepRunner} from '../../core/engine/steps.js'
import {Journal} from '../journal.js'
import {acquireClusterLock, clearRestoredLocks, LOCK_PREFIX} from '../lock.js'
import {Remote} from '../remote.js'
import {shellQuote} from '../../shell-quote.js'
import type {Reporter} from '../reporter.js'
import {type CatalogOptions, locate, verifyDigest, withLocalCopy, withTargets} from './catalog.js'
import {digestFile} from './hash.js'
import type {Manifest} from './manifest.js'

export interface RestoreStep {
  step: 'upload' | 'stop' | 'move-aside' | 'restore' | 'start' | 'wait-healthy' | 'verify'
  node?: string
  describe: string
}

export interface RestorePlan {
  snapshot: string
  manifest: Manifest | null
  members: {name: string; address: string; dataDir: string; peerUrl: string}[]
  initialCluster: string
  token: string
  steps: RestoreStep[]
  /** What the restore replaces, read in the preflight (null when no member answered). */
  live?: LiveCluster | null
  /** Read before confirming: a healthy cluster, data newer than the snapshot. */
  warnings?: string[]
}

export interface RestoreResult {
  runId: string | null
  dryRun: boolean
  /** A resume of a restore that had finished: nothing was checked, stopped or restored again. */
  alreadyFinished?: boolean
  plan: RestorePlan
  skipped: string[]
  /**
   * keyCount: keys live at the restored revision (the snapshot's, from its manifest), so writes made
   * after the restored cluster came up never fail the check; liveKeyCount: keys live now.
   */
  verified?: {
    revision: number
    keyCount: number
    liveKeyCount: number
    expectedRevision: number | null
    expectedKeyCount: number | null
  }
  /** plasmactl lock keys that came back with the snapshot and were deleted (key and holder). */
  clearedLocks?: string[]
}

export interface RestoreOptions extends CatalogOptions {
  reporter: Reporter
  idOrFile: string
  dryRun: boolean
  /** Asked after the preflight, with the plan; false aborts. */
  confirm: (plan: RestorePlan) => Promise<boolean>
  resume?: string
  waitMs?: number
  /** Refusals to override: 'cluster-mismatch' (the snapshot comes from another cluster). */
  force?: string[]
}

export function dataDirOf(ctx: Context, node: NodeSpec): string {
  return node.chainfire?.['data-dir'] ?? ctx.chainfire?.['data-dir'] ?? '/var/lib/chainfire'
}

/** The restore command for one member, from the context's template or the etcdutl/etcdctl default; values are shell-quoted. */
export function restoreCommand(
  ctx: Context,
  vars: Record<'snapshot' | 'name' | 'initial-cluster' | 'token' | 'peer-url' | 'data-dir', string>,
): string {
  const tpl = ctx.chainfire?.['restore-command']
  if (tpl) {
    return tpl.replace(/\{([a-z-]+)\}/g, (m, k: string) => (k in vars ? shellQuote(vars[k as keyof typeof vars]) : m))
  }
  const args = [
    'snapshot',
    'restore',
    vars.snapshot,
    '--name',
    vars.name,
    '--initial-cluster',
    vars['initial-cluster'],
    '--initial-cluster-token',
    vars.token,
    '--initial-advertise-peer-urls',
    vars['peer-url'],
    '--data-dir',
    vars['data-dir'],
  ]
    .map(shellQuote)
    .join(' ')
  return `if command -v etcdutl >/dev/null 2>&1; then etcdutl ${args}; else ETCDCTL_API=3 etcdctl ${args}; fi`
}

/** Live keys the operator owns: plasmactl's own lease-bound lock keys are left out (they expire). */
export function userKeyCount(client: ChainfireClient): Promise<{count: number; revision: number}> {
  return client.keyCount(undefined, LOCK_PREFIX)
}

function buildPlan(ctx: Context, id: string, manifest: Manifest | null, token: string): RestorePlan {
  const nodes = nodesWithRole(ctx, 'chainfire')
  if (nodes.length === 0)
    throw new UsageError(`context "${ctx.name}" has no nodes with the chainfire role to restore onto`)
  const members = nodes.map((n) => ({
    name: n.name,
    address: n.address,
    dataDir: dataDirOf(ctx, n),
    peerUrl: nodePeerUrl(ctx, n),
  }))
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',')
  const steps: RestoreStep[] = [
    ...members.map((m) => ({
      step: 'upload' as const,
      node: m.name,
      describe: `copy ${id} to ${m.name}:${m.dataDir}.restore.db (SFTP, verified)`,
    })),
    ...members.map((m) => ({step: 'stop' as const, node: m.name, describe: `stop chainfire on ${m.name}`})),
    ...members.map((m) => ({
      step: 'move-aside' as const,
      node: m.name,
      describe: `move ${m.name}:${m.dataDir} aside (kept, never deleted)`,
    })),
    ...members.map((m) => ({
      step: 'restore' as const,
      node: m.name,
      describe: `restore the snapshot into ${m.name}:${m.dataDir} as member ${m.name}`,
    })),
    ...members.map((m) => ({step: 'start' as const, node: m.name, describe: `start chainfire on ${m.name}`})),
    {step: 'wait-healthy', describe: 'wait for a leader and every member healthy'},
    {
      step: 'verify',
      describe: `check revision${manifest?.keyCount === null ? '' : ", and the key count at the snapshot's revision,"} against the manifest; clear plasmactl locks restored with the snapshot`,
    },
  ]
  return {snapshot: id, manifest, members, initialCluster, token, steps}
}

/**
 * Restores the whole ChainFire cluster from one snapshot. Preflight (snapshot verifies, every node
 * answers over SSH, a restore tool exists), then a journaled, resumable sequence of steps.
 */
export async function restoreCluster(opts: RestoreOptions): Promise<RestoreResult> {
  if (opts.resume) {
    const finished = await Journal.open(join(stateDir(), 'restores'), opts.resume)
    if (finished.ended) {
      const b = finished.begin?.data ?? {}
      opts.reporter.info(
        `restore ${opts.resume} already finished at ${[...finished.all].reverse().find((e) => e.type === 'end')?.ts}; nothing to do (nothing was stopped or restored again)`,
      )
      const plan = buildPlan(opts.ctx, String(b.snapshot), null, String(b.token))
      return {
        runId: opts.resume,
        dryRun: false,
        alreadyFinished: true,
        plan,
        skipped: plan.steps.map((s) => (s.node ? `${s.step}@${s.node}` : s.step)),
      }
    }
  }
  const remote = new Remote(opts.loaded, opts.ctx)
  // The cluster lock (in ChainFire while it has quorum, always in the local file): restores and every other change exclude each other.
  const runId = opts.resume ?? Journal.newId('restore')
  const lockClient = opts.dryRun ? undefined : chainfireClientFor(opts.loaded, opts.ctx)
  const lock =
    lockClient &&
    (await acquireClusterLock(opts.ctx, {
      kind: 'restore',
      purpose: 'snapshot restore',
      runId,
      client: lockClient,
      reporter: opts.reporter,
      resume: Boolean(opts.resume),
    }).catch((error) => (lockClient.close(), Promise.reject(error))))
  try {
    return await withTargets(opts, async (targets) => {
      const loc = await locate(targets, opts.idOrFile)
      return withLocalCopy(loc, async (path, manifest) => {
        const digest = await digestFile(path)
        const bad = verifyDigest(digest, manifest).filter((c) => !c.ok)
        if (bad.length > 0)
          throw new OperationError(
            `snapshot ${loc.id} does not verify: ${bad.map((c) => `${c.check}: ${c.detail}`).join('; ')}`,
          )
        let journal: Journal | undefined
        const dir = join(stateDir(), 'restores')
        if (opts.resume) {
          journal = await Journal.open(dir, opts.resume)
          if (journal.begin?.data?.sha256 !== digest.sha256)
            throw new RefusedError(`run ${opts.resume} restored a different snapshot; start a new restore instead`)
        }
        const token =
          (journal?.begin?.data?.token as string | undefined) ?? `plasmactl-restore-${Date.now().toString(36)}`
        const plan = buildPlan(opts.ctx, loc.id, manifest, token)
        if (!opts.resume) {
          plan.live = await readLiveCluster(opts)
          plan.warnings = checkTarget(plan, manifest, opts.force ?? [])
          for (const w of plan.warnings) opts.reporter.warn(w)
        }
        const nodes = new Map(nodesWithRole(opts.ctx, 'chainfire').map((n) => [n.name, n]))
        // Preflight: every node answers over SSH and has a restore tool.
        const pre = await Promise.allSettled(
          plan.members.map((m) =>
            remote.execChecked(
              nodes.get(m.name)!,
              opts.ctx.chainfire?.['restore-command'] ? 'true' : 'command -v etcdutl || command -v etcdctl',
              {timeoutMs: 15_000},
            ),
          ),
        )
        const failed = pre
          .map((p, i) => (p.status === 'rejected' ? `${plan.members[i].name}: ${(p.reason as Error).message}` : null))
          .filter((f): f is string => f !== null)
        if (failed.length > 0)
          throw refusal(
            'preflight failed, nothing was changed',
            failed.map((message) => ({id: 'preflight', message})),
            {plan: {summary: `restore ${plan.snapshot} onto ${plan.members.map((m) => m.name).join(', ')}`, ...plan}},
          )
        if (opts.dryRun) return {runId: null, dryRun: true, plan, skipped: []}
        if (!(await opts.confirm(plan))) throw new RefusedError('restore not confirmed; nothing was changed')
        journal ??= await Journal.create(dir, runId, {
          kind: 'restore',
          snapshot: loc.id,
          sha256: digest.sha256,
          token,
          context: opts.ctx.name,
        })
        for (const f of opts.force ?? [])
          if (!opts.resume)
            await journal.override(f, (plan.warnings ?? []).find((w) => w.includes(`--force ${f}`)) ?? 'given')
        const runner = new StepRunner<RestoreStep['step']>(journal, opts.reporter, {
          lock,
          state: () => restoreState(opts, plan.members.length),
        })
        const skipped = runner.skipped
        const runStep = (s: RestoreStep, fn: () => Promise<void>) => runner.run(s, fn)
        const forEach = (
          step: RestoreStep['step'],
          fn: (n: NodeSpec, m: RestorePlan['members'][number]) => Promise<void>,
        ) =>
          Promise.all(
            plan.steps
              .filter((s) => s.step === step)
              .map((s) =>
                runStep(s, () =>
                  fn(
                    nodes.get(s.node!)!,
                    plan.members.find((m) => m.name === s.node)!,
                  ),
                ),
              ),
          )
        await forEach('upload', async (n, m) => {
          const tmp = `${m.dataDir}.restore.db.partial`
          await remote.execChecked(n, `mkdir -p ${shellQuote(join(m.dataDir, '..'))}`)
          await remote.upload(n, path, tmp)
          const sum = await remote.execChecked(n, `sha256sum ${shellQuote(tmp)}`)
          if (!sum.stdout.startsWith(digest.sha256))
            throw new OperationError(`${n.name}: uploaded snapshot hash differs (${sum.stdout.slice(0, 16)}…)`)
          await remote.execChecked(n, `mv -f ${shellQuote(tmp)} ${shellQuote(`${m.dataDir}.restore.db`)}`)
        })
        await forEach('stop', async (n) => {
          await remote.service(n, 'chainfire', 'stop', {timeoutMs: 60_000})
        })
        await forEach('move-aside', async (n, m) => {
          const aside = `${m.dataDir}.before-restore-${runId}`
          await remote.execChecked(
            n,
            `if [ -e ${shellQuote(m.dataDir)} ]; then mv ${shellQuote(m.dataDir)} ${shellQuote(aside)}; fi`,
          )
        })
        await forEach('restore', async (n, m) => {
          // Resumed after the restore landed but before it was journaled: the data dir is there already.
          const landed = await remote.exec(n, `test -d ${shellQuote(join(m.dataDir, 'member'))}`)
          if (landed.exitCode === 0) return
          await remote.execChecked(
            n,
            `rm -rf ${shellQuote(m.dataDir)}.restoring && ${restoreCommand(opts.ctx, {snapshot: `${m.dataDir}.restore.db`, name: m.name, 'initial-cluster': plan.initialCluster, token, 'peer-url': m.peerUrl, 'data-dir': `${m.dataDir}.restoring`})} && mv ${shellQuote(m.dataDir)}.restoring ${shellQuote(m.dataDir)}`,
            {timeoutMs: 600_000},
          )
        })
        await forEach('start', async (n) => {
          await remote.service(n, 'chainfire', 'start', {timeoutMs: 60_000})
        })
        const client = chainfireClientFor(opts.loaded, opts.ctx)
        try {
          await runStep(plan.steps.at(-2)!, async () => {
            const deadline = Date.now() + (opts.waitMs ?? 60_000)
            for (;;) {
              const {details} = await checkChainfire(client, opts.ctx, 2000)
              if (details.quorum && details.members.every((m) => m.healthy)) return
              if (Date.now() > deadline)
                throw new OperationError(
                  `the restored cluster is not healthy after ${(opts.waitMs ?? 60_000) / 1000}s: ${details.votersHealthy}/${details.voters} voters healthy`,
                )
              await new Promise((r) => setTimeout(r, 250))
            }
          })
          let verified: RestoreResult['verified']
          const clearedLocks: string[] = []
          await runStep(plan.steps.at(-1)!, async () => {
            const now = await userKeyCount(client)
            if (manifest && now.revision < manifest.revision)
              throw new OperationError(
                `restored revision ${now.revision} is behind the snapshot's ${manifest.revision}`,
              )
            // Counted at the snapshot's revision: clients may write to the restored cluster as soon as it
            // is up, and their keys are not the snapshot's business.
            const atSnapshot = manifest ? await client.keyCount(undefined, LOCK_PREFIX, manifest.revision) : now
            verified = {
              revision: now.revision,
              keyCount: atSnapshot.count,
              liveKeyCount: now.count,
              expectedRevision: manifest?.revision ?? null,
              expectedKeyCount: manifest?.keyCount ?? null,
            }
            if (
              manifest?.keyCount !== null &&
              manifest?.keyCount !== undefined &&
              atSnapshot.count !== manifest.keyCount
            ) {
              throw new OperationError(
                `the restored cluster has ${atSnapshot.count} keys at the snapshot's revision ${manifest.revision}, the snapshot manifest says ${manifest.keyCount}`,
              )
            }
            // The snapshot holds the locks that were held when it was taken (the save's own lock among
            // them). Their holders belong to the past; left in place they would refuse the next save or
            // runbook until their restored leases run out.
            clearedLocks.push(...(await clearRestoredLocks(client, lock?.holder.startedAt ?? new Date().toISOString())))
            for (const l of clearedLocks) opts.reporter.info(`cleared a lock restored from the snapshot: ${l}`)
          })
          await journal.append({type: 'end', ok: true})
          return {runId, dryRun: false, plan, skipped, verified, clearedLocks}
        } finally {
          client.close()
        }
      })
    })
  } finally {
    await lock?.release()
    lockClient?.close()
    await remote.close()
  }
}

export interface LiveCluster {
  clusterId: string | null
  revision: number | null
  healthy: boolean
  leader: string | null
  votersHealthy: number
  voters: number
}

/** What an interrupted restore leaves: how many members answer healthy now. */
async function restoreState(opts: RestoreOptions, members: number): Promise<string> {
  const client = chainfireClientFor(opts.loaded, opts.ctx)
  try {
    const {details} = await checkChainfire(client, opts.ctx, 1500)
    return `restore half done: ${details.votersHealthy} of ${members} members healthy${details.quorum ? '' : ', no quorum'}`
  } finally {
    client.close()
  }
}

/** The cluster the restore would replace, as far as its members answer (none may). */
async function readLiveCluster(opts: RestoreOptions): Promise<LiveCluster | null> {
  const client = chainfireClientFor(opts.loaded, opts.ctx)
  try {
    const {details} = await checkChainfire(client, opts.ctx, 2000)
    if (!details.members.some((m) => m.reachable)) return null
    const healthy = details.quorum && details.members.every((m) => m.healthy || m.learner)
    return {
      clusterId: details.clusterId,
      revision: details.revision,
      healthy,
      leader: details.leader,
      votersHealthy: details.votersHealthy,
      voters: details.voters,
    }
  } catch {
    return null
  } finally {
    client.close()
  }
}

/**
 * Checks what the restore lands on: a snapshot of another cluster is refused unless forced; a
 * healthy cluster and a snapshot older than the live data are warned about (the confirmation shows them).
 */
function checkTarget(plan: RestorePlan, manifest: Manifest | null, force: string[]): string[] {
  const live = plan.live
  if (!live) return []
  const warnings: string[] = []
  if (manifest && live.clusterId && manifest.clusterId !== live.clusterId) {
    const text = `snapshot ${plan.snapshot} was taken from cluster ${manifest.clusterId}, but the live cluster is ${live.clusterId}`
    if (!force.includes('cluster-mismatch'))
      throw new RefusedError(`${text}; nothing was changed`, {
        hint: 'check --context; if this snapshot really belongs here (e.g. taken before an earlier restore), pass --force cluster-mismatch',
      })
    warnings.push(`${text} (--force cluster-mismatch)`)
  }
  if (live.healthy)
    warnings.push(
      `the live cluster is healthy (leader ${live.leader}, ${live.votersHealthy}/${live.voters} voters): the restore replaces its data`,
    )
  if (manifest && live.revision !== null && live.revision > manifest.revision) {
    const gap = live.revision - manifest.revision
    warnings.push(
      `the live data is at revision ${live.revision}, the snapshot at ${manifest.revision}: restoring loses the last ${gap} revision${gap === 1 ? '' : 's'}`,
    )
  }
  return warnings
}
