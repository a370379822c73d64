import assert from 'node:assert/strict'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import type {Context} from '../../src/config/schema.js'
import {fill, installSchedule, renderSchedule} from '../../src/services/snapshot/schedule.js'

const ctx = {name: 'Prod EU', environment: 'production', nodes: []} as unknown as Context
const base = {
  ctx,
  configPath: '/etc/plasmactl/config.yaml',
  bin: '/usr/bin/plasmactl',
  user: 'ops',
  onCalendar: '*-*-* *:00/15:00',
  cron: '*/15 * * * *',
  metricsFile: '/var/lib/nx/p.prom',
  logFile: '/var/log/p.log',
}

describe('snapshot schedule', () => {
  it('renders a service, a timer and a crontab line for the context', async () => {
    const files = await renderSchedule({...base, cronDir: '/etc/cron.d'}, '/etc/systemd/system')
    assert.deepEqual(
      files.map((f) => f.path),
      [
        '/etc/systemd/system/plasmactl-snapshot-prod-eu.service',
        '/etc/systemd/system/plasmactl-snapshot-prod-eu.timer',
        '/etc/cron.d/plasmactl-snapshot-prod-eu',
      ],
    )
    const [service, timer, cron] = files.map((f) => f.content)
    assert.match(
      service,
      /^ExecStart=\/usr\/bin\/plasmactl snapshot save --context "Prod EU" --log-format json --metrics-file \/var\/lib\/nx\/p\.prom$/m,
    )
    assert.match(service, /^User=ops$/m)
    assert.match(timer, /^OnCalendar=\*-\*-\* \*:00\/15:00$/m)
    assert.match(timer, /^Unit=plasmactl-snapshot-prod-eu\.service$/m)
    assert.match(
      cron,
      /^\*\/15 \* \* \* \* ops PLASMACTL_CONFIG=\/etc\/plasmactl\/config\.yaml \/usr\/bin\/plasmactl snapshot save/m,
    )
    for (const f of files) assert.doesNotMatch(f.content, /\{\{/)
  })

  it('refuses a bad cron expression and multi-line values', async () => {
    await assert.rejects(renderSchedule({...base, cron: '* * *'}, '/x'), /5 fields/)
    await assert.rejects(renderSchedule({...base, cron: '61 * * * *'}, '/x'), /minute "61" is out of range/)
    await assert.rejects(renderSchedule({...base, cron: '0 0 * * 8'}, '/x'), /day of week "8" is out of range/)
    await assert.rejects(renderSchedule({...base, user: 'ops\nrm -rf /'}, '/x'), /one line/)
  })

  it('an unknown placeholder is an error, never left in the output', () => {
    assert.throws(() => fill('a {{nope}} b', {}, 't'), /unknown placeholder/)
    assert.equal(fill('a {{x}} b', {x: '1'}, 't'), 'a 1 b')
  })

  it('install writes the files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plasmactl-sched-'))
    try {
      const files = await renderSchedule(base, dir)
      await installSchedule(files)
      assert.equal(await readFile(files[1].path, 'utf8'), files[1].content)
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })
})
