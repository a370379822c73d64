import assert from 'node:assert/strict'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {listRunbooksLinted} from '../../src/runbook/manage.js'
import {PACKAGE_ROOT} from '../../src/runbook/loader.js'

describe('shipped runbooks', () => {
  it('every shipped runbook lints clean (rehearsed against the lab in test/integration/runbook-rehearsal.test.ts)', async () => {
    const shipped = (await listRunbooksLinted()).filter((r) => r.file.startsWith(join(PACKAGE_ROOT, 'runbooks')))
    assert.ok(shipped.some((r) => r.name === 'prismnet/ovn-db-recovery'))
    assert.ok(shipped.some((r) => r.name === 'flaredb/store-restart'))
    assert.deepEqual(
      shipped.filter((r) => r.lintErrors > 0).map((r) => r.name),
      [],
    )
  })

  it('the list counts the lint errors of a runbook that does not lint', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'plasmactl-rb-'))
    const before = process.env.PLASMACTL_RUNBOOK_PATH
    try {
      await writeFile(
        join(dir, 'bad.yaml'),
        'apiVersion: plasmactl/v1\nkind: Runbook\nmetadata:\n  name: bad\nsteps:\n  - id: a\n    kind: local\n    command: echo\n    check: x\n    allow-failure: true\n',
      )
      process.env.PLASMACTL_RUNBOOK_PATH = dir
      const bad = (await listRunbooksLinted()).find((r) => r.name === 'bad')
      assert.equal(bad?.lintErrors, 2)
    } finally {
      if (before === undefined) delete process.env.PLASMACTL_RUNBOOK_PATH
      else process.env.PLASMACTL_RUNBOOK_PATH = before
      await rm(dir, {recursive: true, force: true})
    }
  })
})
