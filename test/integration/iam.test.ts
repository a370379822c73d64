import assert from 'node:assert/strict'
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {waitForExit} from '../../src/adapters/exec/processes.js'
import {eventually, type Lab, startLab} from '../helpers/lab.js'

interface Component {
  component: string
  status: string
  summary: string
}

const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
const fakeJwt = (expInSeconds: number) =>
  `${b64({alg: 'RS256', kid: 'x'})}.${b64({sub: 'someone', exp: Math.floor(Date.now() / 1000) + expInSeconds})}.c2ln`

describe('IAM: a real HTTP server (health + JWKS) in a lab with every component', () => {
  let lab: Lab
  before(async () => {
    lab = await startLab({nodes: 3, args: ['--with', 'ovn,flaredb,iam']})
  })
  after(async () => {
    await lab?.stop()
  })

  it('health aggregates every component in one verdict', async () => {
    const h = await lab.cli(['health', '--json'])
    assert.equal(h.exitCode, 0, h.stdout + h.stderr)
    const byName = Object.fromEntries(h.json.data.components.map((c: Component) => [c.component, c.status]))
    assert.deepEqual(byName, {
      chainfire: 'ok',
      backups: 'ok',
      flaredb: 'ok',
      iam: 'ok',
      prismnet: 'ok',
      plasmavmc: 'skipped',
    })
    const iam = h.json.data.components.find((c: Component) => c.component === 'iam')
    assert.equal(iam.details.jwks.keys.length, 1)
    assert.equal(iam.details.jwks.keys[0].valid, true)
    assert.equal(iam.details.token.keyKnown, true, 'the token-command signs with the key the JWKS publishes')
  })

  it('auth status decodes the token from the token-command, and warns before expiry', async () => {
    const r = await lab.cli(['auth', 'status', '--json'])
    assert.equal(r.exitCode, 0, r.stdout + r.stderr)
    assert.equal(r.json.data.token.source, 'token-command')
    assert.equal(r.json.data.token.subject, 'lab-operator')
    const soon = await lab.cli(['auth', 'status', '--json'], {env: {PLASMACTL_TOKEN: fakeJwt(600)}})
    assert.equal(soon.exitCode, 4)
    assert.equal(soon.json.data.token.source, 'env')
    assert.match(soon.json.data.findings[0].message, /expires in 10 min/)
    const expired = await lab.cli(['auth', 'status'], {env: {PLASMACTL_TOKEN: fakeJwt(-60)}})
    assert.equal(expired.exitCode, 5)
    assert.match(expired.stdout, /EXPIRED/)
  })

  it('IAM down: health says so plainly and still reports every other component', async () => {
    const pidFile = join(lab.dir, 'nodes', 'n1', 'iam', 'iam.pid')
    const pid = Number((await readFile(pidFile, 'utf8')).trim())
    process.kill(pid, 'SIGKILL')
    assert.ok(await waitForExit(pid, 10_000))
    const h = await lab.cli(['health', '--json'])
    assert.equal(h.exitCode, 5)
    const byName = Object.fromEntries(h.json.data.components.map((c: Component) => [c.component, c.status]))
    assert.deepEqual(byName, {
      chainfire: 'ok',
      backups: 'ok',
      flaredb: 'ok',
      iam: 'crit',
      prismnet: 'ok',
      plasmavmc: 'skipped',
    })
    assert.match(
      h.json.data.problems[0].message,
      /^iam: IAM is DOWN \(GET http:\/\/[\d.]+:\d+\/health: connection refused\): every authenticated operation fails/,
    )
    const text = await lab.cli(['health'])
    // The 80-column table shortens the summary; the problem line says it in full.
    assert.match(text.stdout, /^iam\s+CRIT\s+DOWN: GET /m)
    assert.match(text.stdout, /CRIT {2}iam: IAM is DOWN \(GET .*connection refused\)/)

    const r = await lab.sshExec('n1', `${join(lab.dir, 'nodes', 'n1', 'bin', 'iam')} start`)
    assert.equal(r.exitCode, 0, r.stderr)
    await eventually(
      async () => (await lab.cli(['health', '--component', 'iam', '--json'])).exitCode === 0,
      20_000,
      'IAM back',
    )
  })
})
