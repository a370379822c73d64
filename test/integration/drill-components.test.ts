/**
 * The component drills (drill run vm-qemu-kill, iam-stop, flaredb-store-kill, ovn-nb-leader-kill) on a
 * lab with every component (ChainFire, QEMU VMs, clustered OVN NB DB, FlareDB stores, IAM): the fault,
 * the product's own runbook (or service command) as the recovery, timed; the report directory holds
 * a timeline (probe status over time, the fault window, detection and recovery marked) that
 * `drill report DIR` re-renders. Its own lab, so the suite runs it beside runbook-rehearsal.test.ts.
 */
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {eventually, startLab, type Lab} from '../helpers/lab.js'

describe('component drills on a lab with every component', {concurrency: false}, () => {
  let lab: Lab
  let state: string
  const cli = (args: string[]) => lab.cli(args, {env: {PLASMACTL_STATE_DIR: state}, timeoutMs: 240_000})
  const healthy = async (component: string) => {
    const h = await cli(['health', '--json'])
    return h.json?.data?.components?.find((c: {component: string}) => c.component === component)?.status
  }

  before(async () => {
    lab = await startLab({nodes: 3, args: ['--with', 'vm,ovn,flaredb,iam', '--flaredb-heartbeat', '1s']})
    state = await mkdtemp(join(tmpdir(), 'plasmactl-drill-components-'))
  })
  after(async () => {
    await lab?.stop()
    if (state) await rm(state, {recursive: true, force: true})
  })

  for (const [name, component, method] of [
    ['vm-qemu-kill', 'plasmavmc', 'runbook plasmavmc/vm-crash-restart'],
    ['iam-stop', 'iam', 'service iam start'],
    ['flaredb-store-kill', 'flaredb', 'runbook flaredb/store-restart'],
    ['ovn-nb-leader-kill', 'prismnet', 'runbook prismnet/ovn-db-recovery'],
  ])
    it(`drill ${name}: the ${component} probe sees the fault, ${method} recovers it, timed; pass`, async () => {
      const ok = async () => ['ok', 'warn'].includes(await healthy(component))
      await eventually(async () => (await ok()) || undefined, 60_000, `${component} ok or warn`)
      const r = await cli(['drill', 'run', name, '--baseline', '1', '--hold', '2', '--json'])
      assert.equal(r.exitCode, 0, `${r.stdout}${r.stderr}`)
      const d = r.json.data
      assert.equal(d.verdict, 'pass')
      assert.equal(d.component.name, component)
      assert.equal(d.recovery.method, method)
      for (const k of ['detectionSeconds', 'recoverySeconds', 'rtoSeconds'])
        assert.equal(typeof d.measures[k], 'number', `${k}: ${d.measures[k]}`)
      assert.ok(d.measures.detectionSeconds <= d.measures.rtoSeconds)
      if (name === 'ovn-nb-leader-kill') assert.equal(d.fault.wasLeader, true)
      assert.ok(await ok(), `${component} healthy again`)
      // The timeline: every probe result as a tick, the fault window, detection and recovery marked.
      const svgFile = join(d.reportDir, 'timeline.svg')
      const svg = await readFile(svgFile, 'utf8')
      assertTimelineMarks(svg, component, d.health)
      assert.match(await readFile(join(d.reportDir, 'report.md'), 'utf8'), /!\[timeline\]\(timeline\.svg\)/)
      if (name === 'iam-stop') {
        await rm(svgFile)
        const again = await cli(['drill', 'report', d.reportDir, '--json'])
        assert.equal(again.exitCode, 0, `${again.stdout}${again.stderr}`)
        assert.ok(again.json.data.files.includes('timeline.svg'), again.stdout)
        assertTimelineMarks(await readFile(svgFile, 'utf8'), component, d.health)
      }
      assert.ok(existsSync(join(d.reportDir, 'result.json')))
    })
})

/** The marks of a probe timeline, as Vega renders them to SVG (ARIA descriptions and label texts). */
function assertTimelineMarks(svg: string, component: string, probes: {status: string}[]): void {
  assert.match(svg, /^<svg/)
  const ticks = [
    ...svg.matchAll(
      /aria-label="seconds since start: [^"]*; status: (\w+)" role="graphics-symbol" aria-roledescription="tick"/g,
    ),
  ]
  assert.equal(ticks.length, probes.length, 'one tick per probe result')
  assert.deepEqual(
    ticks.map((t) => t[1]),
    probes.map((p) => p.status),
  )
  assert.ok(ticks.some((t) => t[1] !== 'ok') && ticks.some((t) => t[1] === 'ok'), 'the fault and the recovery show')
  assert.match(
    svg,
    /aria-label="from: [\d.]+; to: [\d.]+" role="graphics-symbol" aria-roledescription="rect mark"/,
    'the fault window',
  )
  assert.ok(
    svg.split('aria-roledescription="rule mark"').length - 1 >= 3,
    'detection, recovery, healthy again as rules',
  )
  assert.match(svg, />detected</, 'detection labelled')
  assert.match(svg, />healthy again</, 'recovery labelled')
  assert.match(svg, new RegExp(`>${component} probe<`), 'the probe row')
}
