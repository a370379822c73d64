import type {DrillSpec} from '../services/drill/catalog.js'
import type {
  ComponentMeasures,
  DrillMeasures,
  DrillResult,
  RehearsalDetails,
  RehearsalMeasures,
} from '../services/drill/types.js'
import type {DrillOp} from '../services/drill/workload.js'

const fmt = (v: unknown) => (v === null || v === undefined ? '–' : typeof v === 'number' ? String(v) : String(v))

export function renderDrillList(drills: DrillSpec[]): string {
  const w = Math.max(...drills.map((d) => d.name.length))
  return drills.map((d) => `${d.name.padEnd(w)}  ${d.summary}`).join('\n')
}

const sloLines = (r: DrillResult) =>
  r.slo!.map((s) => `  ${s.pass ? 'PASS' : 'FAIL'}  ${s.objective} (${s.limit}): ${fmt(s.value)}`)
/** report.md's objectives table and measures table. */
const sloAndMeasures = (r: DrillResult, measures: [string, unknown][]) => [
  '## Objectives',
  '',
  '| objective | limit | value | result |',
  '| --- | --- | --- | --- |',
  ...r.slo!.map((s) => `| ${s.objective} | ${s.limit} | ${fmt(s.value)} | ${s.pass ? 'pass' : '**FAIL**'} |`),
  '',
  '## Measures',
  '',
  '| measure | value |',
  '| --- | --- |',
  ...measures.map(([k, v]) => `| ${k} | ${fmt(v)} |`),
]

/** A drill without an operation history has a probe timeline when it recorded probes (older results did not). */
export const hasProbeTimeline = (r: DrillResult) => Boolean(r.timeline && r.health?.length)
const timelineImage = (r: DrillResult) => (hasProbeTimeline(r) ? ['![timeline](timeline.svg)', ''] : [])

/** A component drill (QEMU, IAM, FlareDB, OVN): the terminal summary or report.md. */
function renderComponentDrill(r: DrillResult, form: 'summary' | 'markdown'): string {
  const m = r.measures as ComponentMeasures
  const f = r.fault!
  const what = `${r.component!.what}${f.wasLeader ? ' (the leader)' : ''}, dead-man timer ${f.deadManSeconds}s; recovery: ${r.recovery!.method} (${r.recovery!.status}, ${fmt(r.recovery!.seconds)}s)`
  if (form === 'summary')
    return [
      `drill ${r.drill} on ${r.context}: ${r.verdict.toUpperCase()}   (run ${r.runId})`,
      `fault: ${f.kind} ${what}`,
      `detection ${fmt(m.detectionSeconds)}s  recovery ${fmt(m.recoverySeconds)}s  RTO ${fmt(m.rtoSeconds)}s`,
      ...sloLines(r),
      `report: ${r.reportDir}`,
    ].join('\n')
  return [
    `# Drill ${r.drill} on ${r.context}: ${r.verdict}`,
    '',
    `Run \`${r.runId}\`. Fault: **${f.kind}** ${what}.`,
    '',
    ...timelineImage(r),
    ...sloAndMeasures(r, Object.entries(m)),
    '',
    `Files: \`journal.jsonl\`, \`result.json\` (with every health probe result)${hasProbeTimeline(r) ? ', `timeline.svg`' : ''}.`,
    '',
  ].join('\n')
}

const throwaway = (h: RehearsalDetails) =>
  h.members === 1
    ? `1 throwaway member at ${h.clientUrl}`
    : `${h.members} throwaway members at ${(h.clientUrls ?? [h.clientUrl]).join(', ')}`

function renderRehearsalSummary(r: DrillResult): string {
  const m = r.measures as RehearsalMeasures
  const h = r.rehearsal!
  return [
    `drill ${r.drill} on ${r.context}: ${r.verdict.toUpperCase()}   (run ${r.runId})`,
    `snapshot ${h.snapshot} (${h.createdAt}) restored with ${h.tool} into ${throwaway(h)}${h.tornDown ? '; torn down' : '; NOT torn down'}`,
    `serving after ${fmt(m.timeToServingSeconds)}s (restored ${fmt(m.restoreSeconds)}s, started ${fmt(m.startSeconds)}s)  keys ${fmt(m.keyCount)}/${fmt(m.expectedKeyCount)}  HashKV ${fmt(m.hashKV)}/${fmt(m.expectedHashKV)}`,
    ...(h.error ? [`error: ${h.error}`] : []),
    ...sloLines(r),
    `report: ${r.reportDir}`,
  ].join('\n')
}

function renderRehearsalMarkdown(r: DrillResult): string {
  const m = r.measures as RehearsalMeasures
  const h = r.rehearsal!
  return [
    `# Drill ${r.drill} on ${r.context}: ${r.verdict}`,
    '',
    `Run \`${r.runId}\`. Snapshot **${h.snapshot}** (${h.createdAt}, ${h.target}) restored with ${h.tool} into ${throwaway(h)} (data dir ${h.dataDir}); ${h.tornDown ? 'torn down afterwards' : '**not torn down**'}.`,
    ...(h.error ? ['', `Error: ${h.error}`] : []),
    '',
    ...timelineImage(r),
    ...sloAndMeasures(r, Object.entries(m)),
    '',
    '## Checks',
    '',
    ...h.checks.map((c) => `- ${c.check}: ${c.ok ? 'ok' : '**failed**'} — ${c.detail}`),
    '',
    `Files: \`journal.jsonl\`, \`result.json\` (with every probe of the restored member)${hasProbeTimeline(r) ? ', `timeline.svg`' : ''}.`,
    '',
  ].join('\n')
}

/** The human summary of a drill run (the terminal form; report.md says more). */
export function renderDrillSummary(r: DrillResult): string {
  if (r.skipped) return `drill ${r.drill}: ${r.skipped}`
  if (r.rehearsal) return renderRehearsalSummary(r)
  if (r.component) return renderComponentDrill(r, 'summary')
  const m = r.measures as DrillMeasures
  const lines = [
    `drill ${r.drill} on ${r.context}: ${r.verdict.toUpperCase()}   (run ${r.runId})`,
    `fault: ${r.fault!.kind} on ${r.fault!.node}${r.fault!.wasLeader ? ' (leader)' : ''}; recovery: ${r.recovery!.method} (${r.recovery!.status})`,
    `detection ${fmt(m.detectionSeconds)}s  election ${fmt(m.electionSeconds)}s  unavailable ${fmt(m.unavailableSeconds)}s  RTO ${fmt(m.rtoSeconds)}s`,
    `ops: ${m.ackedWrites} acked writes, ${m.failedOps} failed, ${m.indeterminateOps} indeterminate; lost ${m.lostAckedWrites}; stale reads ${m.staleReads}; linearizable ${m.linearizable}`,
    ...(m.members ?? []).map(
      (w) =>
        `  ${w.node}${w.wasLeader ? ' (leader)' : ''}: down ${fmt(w.downSeconds)}s, election ${fmt(w.electionSeconds)}s, unavailable ${fmt(w.unavailableSeconds)}s, ${w.ackedWrites} acked, ${w.failedOps} failed`,
    ),
    ...sloLines(r),
    `report: ${r.reportDir}`,
  ]
  return lines.join('\n')
}

/** report.md of a drill run. */
export function renderDrillMarkdown(r: DrillResult): string {
  if (r.skipped) return `# Drill ${r.drill}\n\n${r.skipped}\n`
  if (r.rehearsal) return renderRehearsalMarkdown(r)
  if (r.component) return renderComponentDrill(r, 'markdown')
  const m = r.measures as DrillMeasures
  const lat = (k: 'before' | 'during' | 'after') =>
    `| ${k} | ${m.latency[k].ops} | ${fmt(m.latency[k].p50Ms)} | ${fmt(m.latency[k].p99Ms)} |`
  return [
    `# Drill ${r.drill} on ${r.context}: ${r.verdict}`,
    '',
    `Run \`${r.runId}\`. Fault: **${r.fault!.kind}** on **${r.fault!.node}**${r.fault!.wasLeader ? ' (the leader)' : ''}, dead-man timer ${r.fault!.deadManSeconds}s. Recovery: ${r.recovery!.method} — ${r.recovery!.status}, ${fmt(r.recovery!.seconds)}s.`,
    '',
    '![timeline](timeline.svg)',
    '',
    ...sloAndMeasures(
      r,
      (
        [
          'detectionSeconds',
          'electionSeconds',
          'unavailableSeconds',
          'rtoSeconds',
          'ackedWrites',
          'lostAckedWrites',
          'failedOps',
          'indeterminateOps',
          'staleReads',
          'linearizable',
        ] as const
      ).map((k) => [k, m[k]]),
    ),
    '',
    '| window | ops | p50 ms | p99 ms |',
    '| --- | --- | --- | --- |',
    lat('before'),
    lat('during'),
    lat('after'),
    '',
    ...(m.members
      ? [
          '| member | led | down s | election s | unavailable s | acked writes | failed ops |',
          '| --- | --- | --- | --- | --- | --- | --- |',
          ...m.members.map(
            (w) =>
              `| ${w.node} | ${w.wasLeader ? 'yes' : 'no'} | ${fmt(w.downSeconds)} | ${fmt(w.electionSeconds)} | ${fmt(w.unavailableSeconds)} | ${w.ackedWrites} | ${w.failedOps} |`,
          ),
          '',
        ]
      : []),
    '## Checks',
    '',
    `- acknowledged sequenced writes read back after recovery: ${r.checks!.ackedSequencedWrites - m.lostAckedWrites}/${r.checks!.ackedSequencedWrites}`,
    `- register history linearizable: ${r.checks!.linearizable}${r.checks!.failedKeys.length ? ` (not on ${r.checks!.failedKeys.join(', ')})` : ''}`,
    `- watch: ${r.checks!.watch.events} events, ${r.checks!.watch.duplicates} duplicates, ${r.checks!.watch.outOfOrder} out of order, ${r.checks!.watch.missing} acknowledged revisions missing, ${r.checks!.watch.gaps} compaction gaps`,
    '',
    'Files: `history.jsonl` (every operation with invoke/complete times in ms and its outcome), `journal.jsonl`, `result.json`, `timeline.svg`.',
    '',
  ].join('\n')
}

/** Most points a timeline draws: every failed or indeterminate op, successful ones thinned evenly. */
const MAX_POINTS = 4000

const HEALTH_COLORS = {
  field: 'status',
  type: 'nominal',
  scale: {
    domain: ['ok', 'warn', 'crit', 'unknown', 'down'],
    range: ['#2ca02c', '#ffbf00', '#d62728', '#7f7f7f', '#8c564b'],
  },
  legend: {title: 'probe status'},
}

/** The time axis of a timeline (seconds since the drill started). */
const timeAxis = (end: number) => ({
  field: 't',
  type: 'quantitative',
  title: 'seconds since start',
  scale: {domain: [0, end]},
})

/** The fault window, shaded. */
const faultShade = (from: number, to: number, end: number, label: string) => ({
  data: {values: [{from, to, label}]},
  mark: {type: 'rect', color: '#d62728', opacity: 0.12},
  encoding: {x: {field: 'from', type: 'quantitative', scale: {domain: [0, end]}}, x2: {field: 'to'}},
})

/** One row of ticks: each probe result at the time it reported, coloured by its status. */
const probeTicks = (probes: {t: number; status: string}[], row: string, end: number) => ({
  data: {values: probes.map((h) => ({t: h.t, status: h.status, row}))},
  mark: {type: 'tick', thickness: 3},
  encoding: {x: timeAxis(end), y: {field: 'row', type: 'nominal', title: null}, color: HEALTH_COLORS},
})

/** The Vega-Lite spec of the timeline: op latency over time, fault window shaded, leader and health below. */
export function drillTimelineSpec(r: DrillResult, ops: DrillOp[]): Record<string, unknown> {
  const bad = ops.filter((o) => o.outcome !== 'ok')
  const good = ops.filter((o) => o.outcome === 'ok')
  const stride = Math.max(1, Math.ceil(good.length / Math.max(1, MAX_POINTS - bad.length)))
  const points = [...good.filter((_, i) => i % stride === 0), ...bad].map((o) => ({
    t: o.call / 1000,
    latencyMs: Math.max(0.1, o.complete - o.call),
    outcome: o.outcome,
    kind: o.kind,
  }))
  const tl = r.timeline!
  const changes: {t: number; leader: string}[] = []
  for (const s of r.samples ?? [])
    if (changes.at(-1)?.leader !== (s.leader ?? 'none')) changes.push({t: s.t, leader: s.leader ?? 'none'})
  const x = timeAxis(tl.end)
  const shade = faultShade(tl.faultAt, tl.recoveredAt ?? tl.end, tl.end, `${r.fault!.kind} ${r.fault!.node}`)
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `drill ${r.drill}: ${r.verdict}`,
    vconcat: [
      {
        width: 720,
        height: 260,
        layer: [
          shade,
          {
            data: {values: points},
            mark: {type: 'point', filled: true, size: 12, opacity: 0.6},
            encoding: {
              x,
              y: {field: 'latencyMs', type: 'quantitative', title: 'operation latency (ms, log)', scale: {type: 'log'}},
              color: {
                field: 'outcome',
                type: 'nominal',
                scale: {domain: ['ok', 'fail', 'indeterminate'], range: ['#1f77b4', '#d62728', '#ff7f0e']},
              },
            },
          },
          {
            data: {values: changes},
            mark: {type: 'rule', color: '#2ca02c', strokeDash: [4, 3]},
            encoding: {x: {field: 't', type: 'quantitative'}},
          },
        ],
      },
      {
        width: 720,
        height: 60,
        layer: [
          shade,
          {
            data: {values: changes},
            mark: {type: 'text', align: 'left', dx: 3, fontSize: 10},
            encoding: {x: {field: 't', type: 'quantitative'}, y: {datum: 'leader'}, text: {field: 'leader'}},
          },
          probeTicks(r.health ?? [], 'health', tl.end),
        ],
        resolve: {scale: {color: 'independent'}},
      },
    ],
    resolve: {scale: {color: 'independent'}},
  }
}

/**
 * The timeline of a drill without an operation history (a component drill, the restore rehearsal):
 * every probe result over time as a tick coloured by its status, the fault window shaded, and the
 * moments that matter (detection, recovery; restored, started, serving) as labelled rules.
 */
export function probeTimelineSpec(r: DrillResult): Record<string, unknown> {
  const tl = r.timeline!
  const rehearsal = r.rehearsal !== undefined
  const row = rehearsal ? 'restored member' : `${r.component?.name ?? 'health'} probe`
  const label = rehearsal ? 'restore' : `${r.fault?.kind ?? 'fault'} ${r.component?.what ?? ''}`.trim()
  const marks = rehearsal ? rehearsalMarks(r) : componentMarks(r)
  const shade = faultShade(tl.faultAt, tl.recoveredAt ?? tl.end, tl.end, label)
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `drill ${r.drill}: ${r.verdict}`,
    width: 720,
    height: 90,
    layer: [
      shade,
      probeTicks(r.health ?? [], row, tl.end),
      {
        data: {values: marks},
        mark: {type: 'rule', color: '#1f77b4', strokeDash: [4, 3]},
        encoding: {x: {field: 't', type: 'quantitative'}},
      },
      {
        data: {values: marks},
        mark: {type: 'text', align: 'left', baseline: 'top', dx: 3, dy: 2, fontSize: 10},
        encoding: {x: {field: 't', type: 'quantitative'}, y: {value: 0}, text: {field: 'label'}},
      },
    ],
  }
}

function componentMarks(r: DrillResult): {t: number; label: string}[] {
  const tl = r.timeline!
  const m = r.measures as ComponentMeasures
  return [
    ...(m.detectionSeconds === null ? [] : [{t: tl.faultAt + m.detectionSeconds, label: 'detected'}]),
    {t: tl.revertedAt, label: 'recovery done'},
    ...(tl.recoveredAt === null ? [] : [{t: tl.recoveredAt, label: 'healthy again'}]),
  ]
}

function rehearsalMarks(r: DrillResult): {t: number; label: string}[] {
  const m = r.measures as RehearsalMeasures
  return (
    [
      [m.restoreSeconds, 'restored'],
      [m.startSeconds, 'started'],
      [m.timeToServingSeconds, 'serving'],
    ] as const
  ).flatMap(([t, label]) => (t === null ? [] : [{t, label}]))
}

/** Renders a Vega-Lite spec to SVG headless (vega and vega-lite are loaded only here, on demand). */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')])
  const view = new vega.View(vega.parse(vl.compile(spec as never).spec), {renderer: 'none'})
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}
