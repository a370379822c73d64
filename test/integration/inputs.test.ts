// Bad input through the real CLI (`node bin/run.js`): every case ends with a documented exit code
// and a plain message naming file:line, never a hang, a crash or exit 1 ("this is a bug").
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {type CliResult, REPO_ROOT, runCli} from '../helpers/lab.js'

let home: string

/** A context whose ChainFire endpoint refuses connections: commands that get past input checks exit 3 or 5, never 2. */
const CONFIG = `apiVersion: plasmactl/v1
current-context: t
contexts:
  - name: t
    environment: staging
    chainfire:
      endpoints: [http://127.0.0.1:1]
    nodes:
      - {name: n1, address: 127.0.0.1, roles: [chainfire]}
`

const cli = (args: string[], env: Record<string, string> = {}): Promise<CliResult> =>
  runCli(
    args,
    {
      XDG_CONFIG_HOME: join(home, 'xdg'),
      XDG_STATE_HOME: join(home, 'state'),
      PLASMACTL_CONFIG: join(home, 'config.yaml'),
      PLASMACTL_CONTEXT: undefined,
      NO_COLOR: '1',
      ...env,
    },
    {cwd: home, timeoutMs: 120_000},
  )

const runbook = (name: string, steps: string) =>
  `apiVersion: plasmactl/v1\nkind: Runbook\nmetadata: {name: ${name}, mutating: false}\nsteps:\n${steps}`
const include = (id: string, target: string) => `  - id: ${id}\n    kind: runbook\n    runbook: ${target}\n`

/** Exit 2 with the message (lint reports on stdout, errors on stderr), and no "this is a bug" hint. */
function usage(r: CliResult, message: RegExp): void {
  assert.equal(r.exitCode, 2, `exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`)
  assert.match(r.stdout + r.stderr, message)
  assert.doesNotMatch(r.stdout + r.stderr, /this is a bug|Maximum call stack/)
}

/** Anchors nested nine wide and six deep: a few lines that expand to 9^6 nodes. */
const ALIAS_BOMB = `a: &a [x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
`

describe('inputs that cannot hang, crash or mislead (built CLI)', () => {
  before(async () => {
    if (!existsSync(join(REPO_ROOT, 'dist', 'commands', 'runbook', 'lint.js')))
      throw new Error('dist/ is missing: run `npm run build` first')
    home = await mkdtemp(join(tmpdir(), 'plasmactl-it-inputs-'))
    await writeFile(join(home, 'config.yaml'), CONFIG)
  })
  after(async () => {
    await rm(home, {recursive: true, force: true})
  })

  it('an include cycle is refused by lint and run, naming the cycle at the include that closes it', async () => {
    await writeFile(join(home, 'a.yaml'), runbook('a', include('to-b', './b.yaml')))
    await writeFile(
      join(home, 'b.yaml'),
      runbook('b', `  - id: hello\n    kind: local\n    command: 'true'\n${include('to-a', './a.yaml')}`),
    )
    const lint = await cli(['runbook', 'lint', './a.yaml'])
    usage(lint, /b\.yaml:10:14: error: include cycle: a\.yaml → b\.yaml → a\.yaml/)
    const run = await cli(['runbook', 'run', './a.yaml', '--dry-run'])
    usage(run, /b\.yaml:10:14: include cycle: a\.yaml → b\.yaml → a\.yaml/)
    // A rescue step that includes its own runbook is a cycle too.
    await writeFile(
      join(home, 'self.yaml'),
      runbook(
        'self',
        `  - id: s\n    kind: local\n    command: 'false'\n    on_failure:\n      rescue:\n        - {id: again, kind: runbook, runbook: ./self.yaml}\n`,
      ),
    )
    usage(
      await cli(['runbook', 'lint', './self.yaml']),
      /self\.yaml:10:47: error: include cycle: self\.yaml → self\.yaml/,
    )
  })

  it('includes nested deeper than 8 levels are refused at the include that starts the chain', async () => {
    for (let i = 0; i < 10; i++)
      await writeFile(join(home, `d${i}.yaml`), runbook(`d${i}`, include('next', `./d${i + 1}.yaml`)))
    await writeFile(join(home, 'd10.yaml'), runbook('d10', `  - id: last\n    kind: local\n    command: 'true'\n`))
    usage(
      await cli(['runbook', 'lint', './d0.yaml']),
      /d0\.yaml:7:14: error: includes nest 10 deep \(d0\.yaml → \.\/d1\.yaml → .* → \.\/d10\.yaml\); at most 8 levels/,
    )
    const shallow = await cli(['runbook', 'lint', './d2.yaml'])
    assert.equal(shallow.exitCode, 0, shallow.stderr)
  })

  it('a YAML alias bomb in a config or a runbook exits 2 at the alias', async () => {
    await writeFile(join(home, 'bomb.yaml'), ALIAS_BOMB)
    usage(
      await cli(['config', 'validate', './bomb.yaml']),
      /bomb\.yaml:\d+:\d+: YAML: aliases expand to more than 100 nodes/,
    )
    usage(
      await cli(['health', '--config', './bomb.yaml']),
      /bomb\.yaml:\d+:\d+: YAML: aliases expand to more than 100 nodes/,
    )
    usage(
      await cli(['runbook', 'lint', './bomb.yaml']),
      /bomb\.yaml:\d+:\d+: error: YAML: aliases expand to more than 100 nodes/,
    )
  })

  it('a config with 200 000 problems lists the first ones and counts the rest', async () => {
    const nodes = '      - {}\n'.repeat(100_000)
    await writeFile(
      join(home, 'huge.yaml'),
      `apiVersion: plasmactl/v1\ncontexts:\n  - name: t\n    environment: lab\n    nodes:\n${nodes}`,
    )
    const r = await cli(['config', 'validate', './huge.yaml'])
    usage(r, /huge\.yaml:6:9: contexts\[0\]\.nodes\[0\]\.name: missing required key "name"/)
    assert.match(r.stderr, /huge\.yaml: 200000 problems \(the first 100 listed, 199900 more\)/)
    const json = await cli(['health', '--config', './huge.yaml', '--json'])
    assert.equal(json.exitCode, 2, json.stderr)
    assert.match(
      json.json.error.message,
      /contexts\[0\]\.nodes\[0\]\.name: missing required key "name" \(and 199999 more problems\)/,
    )
    assert.equal(json.json.error.details.problems.length, 100)
    assert.equal(json.json.error.details.more, 199_900)
  })

  it('unknown components and roles, and timeouts that are zero, huge or malformed, exit 2', async () => {
    usage(
      await cli(['health', '--component', 'nonsense']),
      /unknown component "nonsense" \(components: chainfire, backups/,
    )
    usage(await cli(['health', '--component', 'chainfrie']), /did you mean "chainfire"\?/)
    usage(await cli(['exec', 'role:chainfier', '--', 'true']), /unknown role "chainfier" .*did you mean "chainfire"\?/)
    await writeFile(
      join(home, 'role.yaml'),
      runbook('role', `  - id: restart\n    kind: run\n    on: role:chainfier\n    command: 'true'\n`),
    )
    usage(
      await cli(['runbook', 'lint', './role.yaml']),
      /role\.yaml:7:9: error: steps\[0\]\.on: unknown role in target "role:chainfier" .*did you mean "chainfire"\?/,
    )
    usage(
      await cli(['health', '--timeout', '99999999999999999999h']),
      /invalid --timeout "99999999999999999999h": at most 24h/,
    )
    usage(await cli(['health', '--timeout', '0']), /invalid --timeout "0": must be more than 0/)
    usage(await cli(['health', '--watch', '--interval', '0s']), /invalid --interval "0s": must be more than 0/)
    usage(await cli(['exec', 'all', '--timeout', '25h', '--', 'true']), /invalid --timeout "25h": at most 24h/)
    usage(await cli(['chainfire', 'members', '--timeout', '1e400']), /invalid --timeout "1e400"/)
    // The bounds leave ordinary values alone: the unreachable endpoint makes health critical (5), not bad input.
    assert.equal((await cli(['health', '--timeout', '24h', '--component', 'chainfire'])).exitCode, 5)
  })

  it('an ftp:// snapshot target is refused by config validation with file:line', async () => {
    await writeFile(
      join(home, 'ftp.yaml'),
      CONFIG.replace(
        '    chainfire:',
        '    snapshots:\n      targets: [ftp://backup.example/chainfire]\n    chainfire:',
      ),
    )
    usage(
      await cli(['config', 'validate', './ftp.yaml']),
      /ftp\.yaml:7:17: contexts\[0\]\.snapshots\.targets\[0\]: unsupported snapshot target/,
    )
    usage(await cli(['snapshot', 'list', '--config', './ftp.yaml']), /ftp\.yaml:7:17: .*unsupported snapshot target/)
    usage(
      await cli(['snapshot', 'list', '--target', 'ftp://backup.example/x']),
      /unknown snapshot target "ftp:\/\/backup\.example\/x"/,
    )
  })

  it('config view redacts URL passwords, and no secret is left in the state directory', async () => {
    const secrets = ['S3-SECRET-wJalrXUtnFEMI', 'IAM-TOKEN-eyJhbGciOi', 'URL-PASS-hunter2']
    const withSecrets =
      CONFIG.replace('http://127.0.0.1:1', `http://operator:${secrets[2]}@127.0.0.1:1`) +
      `    iam:\n      url: https://iam.example\n      token: ${secrets[1]}\n` +
      `    snapshots:\n      targets:\n        - {url: 's3://backups/chainfire', access-key-id: AKIDEXAMPLE, secret-access-key: ${secrets[0]}}\n`
    await writeFile(join(home, 'secrets.yaml'), withSecrets)
    const state = join(home, 'state-secrets')
    const env = {PLASMACTL_CONFIG: join(home, 'secrets.yaml'), PLASMACTL_STATE_DIR: state}
    const view = await cli(['config', 'view'], env)
    assert.equal(view.exitCode, 0, view.stderr)
    assert.match(view.stdout, /http:\/\/operator:\[REDACTED\]@127\.0\.0\.1:1/)
    const json = await cli(['config', 'view', '--json'], env)
    assert.equal(json.json.data.config.contexts[0].chainfire.endpoints[0], 'http://operator:[REDACTED]@127.0.0.1:1')
    // Commands that load the config (twice: the second load would come from the cache).
    for (let i = 0; i < 2; i++)
      assert.equal((await cli(['health', '--component', 'chainfire', '--timeout', '1s'], env)).exitCode, 5)
    for (const s of secrets) {
      assert.ok(!view.stdout.includes(s) && !json.stdout.includes(s), `${s} printed by config view`)
      for (const f of await readdir(state, {recursive: true}).catch(() => [] as string[])) {
        const text = await readFile(join(state, f), 'utf8').catch(() => '')
        assert.ok(!text.includes(s), `${s} stored in clear in ${f}`)
      }
    }
    // A config without secrets is still cached.
    await cli(['health', '--component', 'chainfire', '--timeout', '1s'], {PLASMACTL_STATE_DIR: state})
    assert.equal((await readdir(join(state, 'cache'))).filter((f) => f.startsWith('config-')).length, 1)
  })
})
