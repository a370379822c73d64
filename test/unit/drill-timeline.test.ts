/**
 * The probe timeline of drills without an operation history (component drills, the restore
 * rehearsal): rendered from result.json alone by `drill report`'s code, with Vega-Lite to SVG.
 */
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {renderDrillReport} from '../../src/services/drill/report.js'
import type {DrillResult} from '../../src/services/drill/types.js'

const dirs: string[] = []
async function reportDir(result: DrillResult): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'plasmactl-drill-timeline-'))
  dirs.push(dir)
  await writeFile(join(dir, 'result.json'), JSON.stringify(result))
  await writeFile(join(dir, 'history.jsonl'), '\n')
  return dir
}

/** Each tick's status, in order, for the row named ROW. */
function ticks(svg: string, row: string): string[] {
  const re = new RegExp(
    `aria-label="seconds since start: [^"]*; row: ${row}; status: (\\w+)" role="graphics-symbol" aria-roledescription="tick"`,
    'g',
  )
  return [...svg.matchAll(re)].map((m) => m[1])
}

const labels = (svg: string) =>
  [
    ...svg.matchAll(/aria-label="t: [\d.]+; label: ([^"]+)" role="graphics-symbol" aria-roledescription="text mark"/g),
  ].map((m) => m[1])

const slo = [{objective: 'x', limit: 'y', value: true, pass: true}]
/** An iam-stop drill's result, without its probes and timeline. */
const iamStop: DrillResult = {
  runId: 'drill-1',
  drill: 'iam-stop',
  context: 'lab',
  status: 'pass',
  verdict: 'pass',
  fault: {kind: 'stop', node: 'n1', wasLeader: false, deadManSeconds: 302},
  recovery: {method: 'service iam start', status: 'ok', seconds: 0.7},
  measures: {detectionSeconds: 0.3, recoverySeconds: 0.7, rtoSeconds: 2.3},
  slo,
  component: {name: 'iam', what: 'iam on n1'},
}

describe('probe timelines', () => {
  after(async () => {
    for (const d of dirs) await rm(d, {recursive: true, force: true})
  })

  it('a component drill: a tick per probe by status, the fault window, detection and recovery marked', async () => {
    const health = [0.1, 0.6, 1.1, 1.6, 2.1, 2.6, 3.1].map((t, i) => ({
      started: t - 0.05,
      t,
      status: i < 2 || i > 4 ? 'ok' : i === 4 ? 'warn' : 'crit',
    }))
    const dir = await reportDir({
      ...iamStop,
      timeline: {faultAt: 0.8, revertedAt: 2.2, recoveredAt: 3.1, end: 3.3},
      health,
    })
    const r = await renderDrillReport(dir)
    assert.deepEqual(r.files, ['report.md', 'timeline.svg'])
    const svg = await readFile(join(dir, 'timeline.svg'), 'utf8')
    assert.deepEqual(
      ticks(svg, 'iam probe'),
      health.map((h) => h.status),
    )
    assert.match(svg, /aria-label="from: 0\.8; to: 3\.1" role="graphics-symbol" aria-roledescription="rect mark"/)
    assert.deepEqual(labels(svg), ['detected', 'recovery done', 'healthy again'])
    assert.match(await readFile(join(dir, 'report.md'), 'utf8'), /!\[timeline\]\(timeline\.svg\)/)
  })

  it('the restore rehearsal: probes of the restored member, restored / started / serving marked', async () => {
    const health = [0.9, 1.0, 1.1].map((t, i) => ({started: t - 0.05, t, status: i < 2 ? 'down' : 'ok'}))
    const dir = await reportDir({
      runId: 'drill-2',
      drill: 'restore-rehearsal',
      context: 'lab',
      status: 'pass',
      verdict: 'pass',
      measures: {
        timeToServingSeconds: 1.1,
        restoreSeconds: 0.5,
        startSeconds: 0.8,
        revision: 9,
        expectedRevision: 9,
        keyCount: 3,
        expectedKeyCount: 3,
        hashKV: 7,
        expectedHashKV: 7,
        expectedHashKVFrom: 'manifest',
      },
      slo,
      rehearsal: {
        snapshot: 's',
        target: 'file',
        createdAt: '2026-12-02T00:00:00Z',
        members: 1,
        clientUrl: 'http://127.0.0.1:1',
        peerUrl: 'http://127.0.0.1:2',
        dataDir: '/nonexistent',
        tool: 'etcdctl',
        checks: [],
        tornDown: true,
      },
      timeline: {faultAt: 0, revertedAt: 0.8, recoveredAt: 1.1, end: 1.3},
      health,
    })
    await renderDrillReport(dir)
    const svg = await readFile(join(dir, 'timeline.svg'), 'utf8')
    assert.deepEqual(ticks(svg, 'restored member'), ['down', 'down', 'ok'])
    assert.deepEqual(labels(svg), ['restored', 'started', 'serving'])
  })

  it('a result without probes (an older run) gets its report.md and no timeline', async () => {
    const dir = await reportDir({
      ...iamStop,
      runId: 'drill-3',
    })
    const r = await renderDrillReport(dir)
    assert.deepEqual(r.files, ['report.md'])
    assert.equal(existsSync(join(dir, 'timeline.svg')), false)
    assert.doesNotMatch(await readFile(join(dir, 'report.md'), 'utf8'), /timeline\.svg/)
  })
})
