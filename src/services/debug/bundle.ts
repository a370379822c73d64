import {readdir, readFile, stat} from 'node:fs/promises'
import {join} from 'node:path'
import {chainfireClientFor} from '../../adapters/chainfire/index.js'
import {httpGet} from '../../adapters/http/index.js'
import {activeNodes, chainfireEndpoints, configPath, nodeSsh, serviceCommand} from '../../config/context.js'
import type {LoadedConfig} from '../../config/load.js'
import {writeFileAtomic} from '../../core/fs.js'
import {stateDir} from '../../config/paths.js'
import type {Context, NodeSpec} from '../../config/schema.js'
import {UsageError} from '../../errors.js'
import {shellQuote} from '../../shell-quote.js'
import {resolveToken} from '../auth/index.js'
import {listMembers} from '../chainfire/index.js'
import {redactSecrets} from '../config/redact.js'
import {viewConfig} from '../config/view.js'
import {execOnNodes} from '../exec-on-nodes.js'
import {checkHealth} from '../health/index.js'
import type {Reporter} from '../reporter.js'
import {redactText, secretValues} from './secrets.js'
import {tarGz, type TarEntry} from './tar.js'
import {compareText} from '../../core/compare.js'

export interface BundleOptions {
  loaded: LoadedConfig
  ctx: Context
  reporter: Reporter
  /** Where the tar.gz goes (refused if it exists). */
  out: string
  /** Logs and runs of this recent past. */
  sinceMs: number
  /** Last lines of each component log per node. */
  lines: number
  /** Per-node (SSH) and per-call deadline. */
  timeoutMs: number
  /** Nodes collected at once. */
  forks: number
  /** plasmactl's own name and version. */
  cli: {name: string; version: string}
}

export interface BundleFile {
  path: string
  bytes: number
  /** What produced it (health, node n1, metrics n2 …). */
  source: string
}

/** Something the bundle could not collect: recorded, never a failure of the bundle. */
export interface BundleNote {
  source: string
  node?: string
  message: string
}

export interface BundleResult {
  path: string
  bytes: number
  context: string
  createdAt: string
  since: string
  files: BundleFile[]
  notes: BundleNote[]
  nodes: {node: string; collected: boolean}[]
  redaction: {secretsKnown: number; replaced: number; tooShortToRedactByValue: number}
}

const MARK = '@@plasmactl-bundle@@'
const RUN_DIRS = ['runbooks', 'node-runs', 'restores', 'drills']
/** A component's service name → the node role that runs it (a service named like its role needs no entry). */
const SERVICE_ROLE: Record<string, string> = {
  'ovn-nb': 'prismnet',
  'ovn-sb': 'prismnet',
  ovn: 'prismnet',
  plasmavmc: 'plasmavmc-host',
}
const DEFAULT_LOGS = 'journalctl -u {unit} --no-pager -n {lines} --since {since}'

class Collector {
  readonly entries: TarEntry[] = []
  readonly files: BundleFile[] = []
  readonly notes: BundleNote[] = []
  replaced = 0
  private readonly now = new Date()

  constructor(private readonly secrets: readonly string[]) {}

  /** Adds a file; text passes through value-based redaction, objects also through config view's key-based one. */
  add(path: string, source: string, content: unknown): void {
    const text = typeof content === 'string' ? content : JSON.stringify(redactSecrets(content), null, 2) + '\n'
    const r = redactText(text, this.secrets)
    this.replaced += r.count
    const data = Buffer.from(r.text, 'utf8')
    this.entries.push({path, data, mtime: this.now})
    this.files.push({path, bytes: data.length, source})
  }

  note(source: string, error: unknown, node?: string): void {
    const message = redactText(error instanceof Error ? error.message : String(error), this.secrets).text
    this.notes.push({source, ...(node ? {node} : {}), message})
  }

  /** Runs one collection; a failure becomes a note. */
  async attempt(source: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn()
    } catch (error) {
      this.note(source, error)
    }
  }
}

/** Collects the support bundle and writes it as a tar.gz; only an unwritable --out fails it. */
export async function createBundle(o: BundleOptions): Promise<BundleResult> {
  if (await stat(o.out).catch(() => undefined))
    throw new UsageError(`${o.out} already exists; refusing to overwrite it`, {hint: 'pass another --out'})
  const createdAt = new Date().toISOString()
  const since = new Date(Date.now() - o.sinceMs).toISOString()
  let token: string | undefined
  const tokenNote: unknown[] = []
  try {
    token = (await resolveToken(o.ctx))?.token
  } catch (error) {
    tokenNote.push(error)
  }
  const {values, tooShort} = secretValues(o.ctx, [token])
  const c = new Collector(values)
  for (const e of tokenNote) c.note('iam token (for redaction by value)', e)
  const report = o.reporter

  report.info('collecting config, health and cluster state')
  const sub = {loaded: o.loaded, ctx: o.ctx, reporter: report, timeoutMs: o.timeoutMs}
  const nodeNames: {node: string; collected: boolean}[] = []
  await Promise.all([
    c.attempt('config', async () =>
      c.add(
        'config/context.yaml',
        'config view --minify (redacted)',
        (await viewConfig({path: o.loaded.path, minify: true, context: o.ctx.name})).yaml + '\n',
      ),
    ),
    c.attempt('health', async () => c.add('health.json', 'health --json', await checkHealth(sub))),
    c.attempt('chainfire members', async () =>
      c.add('chainfire/members.json', 'chainfire members --json', await listMembers(sub)),
    ),
    c.attempt('chainfire alarms', () => collectAlarms(o, c)),
    collectMetrics(o, c),
    c.attempt('vm check', () => collectVms(o, c)),
    c.attempt('prismnet', () => collectPrismnet(o, c)),
    c.attempt('runs', () => collectRuns(o, c, since)),
    collectNodes(o, c, nodeNames),
  ])
  c.add('versions.json', 'plasmactl', {
    plasmactl: o.cli.version,
    node: process.versions.node,
    platform: process.platform,
    arch: process.arch,
  })

  const result: BundleResult = {
    path: o.out,
    bytes: 0,
    context: o.ctx.name,
    createdAt,
    since,
    files: [...c.files].sort((a, b) => compareText(a.path, b.path)),
    notes: c.notes,
    nodes: nodeNames,
    redaction: {secretsKnown: values.length, replaced: c.replaced, tooShortToRedactByValue: tooShort},
  }
  // The manifest describes every other file; it goes first so `tar -xOf B manifest.json` is cheap.
  const manifest = Buffer.from(JSON.stringify(result, null, 2) + '\n')
  const gz = tarGz([{path: 'manifest.json', data: manifest, mtime: new Date(createdAt)}, ...c.entries])
  await writeFileAtomic(o.out, gz)
  return {...result, bytes: gz.length}
}

async function collectAlarms(o: BundleOptions, c: Collector): Promise<void> {
  const client = chainfireClientFor(o.loaded, o.ctx, {commandTimeoutMs: o.timeoutMs})
  try {
    c.add('chainfire/alarms.json', 'chainfire Maintenance/Alarm', await client.alarms())
  } finally {
    client.close()
  }
}

/** Every member's Prometheus metrics (GET CLIENT-URL/metrics); a member that does not answer is a note. */
async function collectMetrics(o: BundleOptions, c: Collector): Promise<void> {
  let endpoints: ReturnType<typeof chainfireEndpoints>
  try {
    endpoints = chainfireEndpoints(o.ctx)
  } catch (error) {
    return c.note('chainfire metrics', error)
  }
  const t = o.ctx.chainfire?.tls
  const p = (x?: string) => (x ? configPath(o.loaded, x) : undefined)
  const tls = t ? {ca: p(t.ca), cert: p(t.cert), key: p(t.key), serverName: t['server-name']} : undefined
  await Promise.all(
    endpoints.map(async (e) => {
      const url = `${e.url.replace(/\/+$/, '')}/metrics`.replace(/^http:/, tls ? 'https:' : 'http:')
      try {
        const r = await httpGet(url, {timeoutMs: o.timeoutMs, tls, retries: 0, maxBytes: 32 * 1024 * 1024})
        c.add(`chainfire/metrics/${safeName(e.name)}.prom`, `GET ${url}`, r.body)
      } catch (error) {
        c.note('chainfire metrics', error, e.node?.name ?? e.name)
      }
    }),
  )
}

async function collectVms(o: BundleOptions, c: Collector): Promise<void> {
  if (!activeNodes(o.ctx).some((n) => n.roles.includes('plasmavmc-host'))) return
  const {checkVms} = await import('../vm/index.js')
  c.add(
    'plasmavmc/vm-check.json',
    'vm check --json (QMP status)',
    await checkVms({loaded: o.loaded, ctx: o.ctx, reporter: o.reporter, timeoutMs: o.timeoutMs}),
  )
}

async function collectPrismnet(o: BundleOptions, c: Collector): Promise<void> {
  const {checkPrismnet, prismnetConfigured} = await import('../prismnet/index.js')
  if (!prismnetConfigured(o.ctx)) return
  c.add(
    'prismnet/ovn-cluster.json',
    'prismnet status --json (OVN cluster status)',
    await checkPrismnet({loaded: o.loaded, ctx: o.ctx, timeoutMs: o.timeoutMs}),
  )
}

/** What `runs list` would show: each journal's begin and end (or last event), for runs of the period and every unfinished one. */
async function collectRuns(o: BundleOptions, c: Collector, since: string): Promise<void> {
  const runs: Record<string, unknown>[] = []
  for (const kind of RUN_DIRS) {
    const dir = join(stateDir(), kind)
    const names = await readdir(dir).catch(() => [] as string[])
    for (const name of names.filter((n) => n.endsWith('.jsonl'))) {
      const events = (await readFile(join(dir, name), 'utf8')).split('\n').flatMap((l) => {
        try {
          return l.trim()
            ? [
                JSON.parse(l) as {
                  ts?: string
                  type?: string
                  data?: Record<string, unknown>
                  ok?: boolean
                  error?: string
                },
              ]
            : []
        } catch {
          return []
        }
      })
      const begin = events.find((e) => e.type === 'begin')
      const end = [...events].reverse().find((e) => e.type === 'end')
      const last = events.at(-1)
      if (!end || (last?.ts ?? '') >= since)
        runs.push({
          kind,
          id: name.slice(0, -'.jsonl'.length),
          begin,
          end: end ?? null,
          last: last ?? null,
          events: events.length,
          finished: Boolean(end),
        })
    }
  }
  runs.sort((a, b) =>
    compareText(String((a.begin as {ts?: string})?.ts ?? ''), String((b.begin as {ts?: string})?.ts ?? '')),
  )
  c.add('runs.json', `journals in ${stateDir()}/{${RUN_DIRS.join(',')}}`, {since, runs})
}

/** Service status, log tail, data-dir usage and versions from every node over SSH: one command per node, bounded fan-out. */
async function collectNodes(o: BundleOptions, c: Collector, out: {node: string; collected: boolean}[]): Promise<void> {
  const nodes = activeNodes(o.ctx)
  if (nodes.length === 0) return
  try {
    const result = await execOnNodes({
      loaded: o.loaded,
      ctx: o.ctx,
      target: nodes.map((n) => n.name).join(','),
      command: 'plasmactl debug bundle (per-node script)',
      commandFor: (n) => nodeScript(o, n),
      timeoutMs: o.timeoutMs,
      forks: o.forks,
    })
    for (const h of result.hosts) {
      if (h.error || h.exitCode === null) {
        out.push({node: h.node, collected: false})
        c.note('node', `not collected: ${h.error ?? 'no exit status'}`, h.node)
        continue
      }
      out.push({node: h.node, collected: true})
      for (const [section, text] of splitSections(h.stdout))
        c.add(`nodes/${safeName(h.node)}/${section}.txt`, `ssh ${h.node}`, text)
      if (h.stderr.trim()) c.add(`nodes/${safeName(h.node)}/stderr.txt`, `ssh ${h.node}`, h.stderr)
    }
  } catch (error) {
    c.note('nodes', error)
  }
}

function nodeServices(ctx: Context, node: NodeSpec): string[] {
  const names = new Set([...Object.keys(ctx.services ?? {}), ...Object.keys(node.services ?? {})])
  if (node.roles.includes('chainfire')) names.add('chainfire')
  return [...names].filter(
    (s) => Object.keys(node.services ?? {}).includes(s) || node.roles.includes((SERVICE_ROLE[s] ?? s) as never),
  )
}

function dataDirs(ctx: Context, node: NodeSpec): [string, string][] {
  const dirs: [string, string][] = []
  const cf = node.chainfire?.['data-dir'] ?? ctx.chainfire?.['data-dir']
  if (node.roles.includes('chainfire') && cf) dirs.push(['chainfire', cf])
  for (const [component, dir] of Object.entries(ctx['data-dirs'] ?? {}))
    if (node.roles.includes((SERVICE_ROLE[component] ?? component) as never)) dirs.push([component, dir])
  return dirs
}

/** The shell script run on NODE; each section starts with a marker line the collector splits on. */
export function nodeScript(o: Pick<BundleOptions, 'ctx' | 'lines' | 'sinceMs'>, node: NodeSpec): string {
  const section = (name: string, cmd: string) =>
    `printf '\\n%s %s\\n' ${shellQuote(MARK)} ${shellQuote(name)}; ( ${cmd} ) 2>&1 </dev/null`
  const parts = [section('system', 'uname -a; uptime; id -un')]
  const sudo = nodeSsh(o.ctx, node).sudo
  for (const s of nodeServices(o.ctx, node)) {
    const spec = {...o.ctx.services?.[s], ...node.services?.[s]}
    const logs = (spec.logs ?? DEFAULT_LOGS).replaceAll(/\{(unit|node|lines|since)\}/g, (_m, k: string) =>
      shellQuote(
        k === 'unit'
          ? (spec.unit ?? s)
          : k === 'node'
            ? node.name
            : k === 'lines'
              ? String(o.lines)
              : `${Math.ceil(o.sinceMs / 1000)} seconds ago`,
      ),
    )
    parts.push(section(`service-${s}`, `${serviceCommand(o.ctx, node, s, 'is-active')}; echo "(exit $?)"`))
    parts.push(section(`log-${s}`, `${sudo ? `sudo -n ${logs}` : logs} | tail -n ${o.lines}`))
  }
  const dirs = dataDirs(o.ctx, node)
  if (dirs.length > 0)
    parts.push(
      section(
        'disk',
        dirs
          .map(([c, d]) => `echo ${shellQuote(`${c}: ${d}`)}; du -sk ${shellQuote(d)}; df -Pk ${shellQuote(d)}`)
          .join('; '),
      ),
    )
  parts.push(
    section(
      'versions',
      'for b in etcd ovsdb-server qemu-system-x86_64; do command -v "$b" >/dev/null 2>&1 && { echo "$b: $("$b" --version 2>&1 | head -n 1)"; }; done; true',
    ),
  )
  return parts.join('\n')
}

function splitSections(stdout: string): [string, string][] {
  const out: [string, string][] = []
  let name: string | undefined
  let lines: string[] = []
  const flush = () => {
    if (name) out.push([safeName(name), lines.join('\n').replace(/^\n+/, '') + '\n'])
  }
  for (const line of stdout.split('\n')) {
    if (line.startsWith(`${MARK} `)) {
      flush()
      name = line.slice(MARK.length + 1)
      lines = []
    } else lines.push(line)
  }
  flush()
  return out
}

function safeName(s: string): string {
  return s.replaceAll(/[^\w.-]+/g, '_')
}
