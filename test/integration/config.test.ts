// Runs the REAL built CLI (`node bin/run.js`, after `npm run build`) against config files in a temp dir.
import assert from 'node:assert/strict'
import {execFile} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {after, before, describe, it} from 'node:test'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BIN = join(ROOT, 'bin', 'run.js')

interface Run {
  code: number
  stdout: string
  stderr: string
}

let home: string

/** Runs plasmactl with its config in the temp dir; stdin is not a terminal (like cron). */
function plasmactl(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base: Record<string, string | undefined> = {...process.env}
  delete base.PLASMACTL_CONTEXT
  delete base.PLASMACTL_CONFIG
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: home,
        env: {...base, XDG_CONFIG_HOME: join(home, 'xdg'), XDG_STATE_HOME: join(home, 'state'), NO_COLOR: '1', ...env},
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error)
        else resolve({code: error ? Number(error.code) : 0, stdout, stderr})
      },
    )
    child.stdin?.end()
  })
}

const json = (r: Run) =>
  JSON.parse(r.stdout) as {
    ok: boolean
    exitCode: number
    data?: Record<string, unknown>
    error?: Record<string, unknown>
  }

const TWO_CONTEXTS = `# Clusters on call this week.
apiVersion: plasmactl/v1
current-context: prod # keep prod as the default
contexts:
  # eu1 production: three control-plane nodes
  - name: prod
    environment: production
    nodes:
      - {name: cp1, address: 10.0.0.1, roles: [chainfire]}
      - {name: cp2, address: 10.0.0.2, roles: [chainfire]}
  - name: staging
    environment: staging
    chainfire:
      endpoints: [http://10.9.0.1:2379]
`

describe('plasmactl config (built CLI)', () => {
  before(async () => {
    if (
      !existsSync(join(ROOT, 'dist', 'commands', 'config', 'init.js')) ||
      !existsSync(join(ROOT, 'dist', 'hooks', 'command-not-found.js'))
    ) {
      throw new Error('dist/ is missing the config commands: run `npm run build` first')
    }
    home = await mkdtemp(join(tmpdir(), 'plasmactl-it-config-'))
  })
  after(async () => {
    await rm(home, {recursive: true, force: true})
  })

  it('init by flags writes the XDG config, then validate exits 0', async () => {
    // validate checks that the files the config names exist.
    const key = join(home, 'plasma_ed25519')
    await writeFile(key, 'key\n')
    const init = await plasmactl([
      'config',
      'init',
      '--context-name',
      'prod-eu1',
      '--environment',
      'production',
      '--node',
      'cp1=10.20.0.11:chainfire,flaredb',
      '--node',
      'cp2=10.20.0.12',
      '--ssh-user',
      'plasma',
      '--identity-file',
      key,
    ])
    assert.equal(init.code, 0, init.stderr)
    const path = join(home, 'xdg', 'plasmactl', 'config.yaml')
    const text = await readFile(path, 'utf8')
    assert.match(text, /^# yaml-language-server: \$schema=.*config\.schema\.json/)
    assert.match(text, /current-context: prod-eu1/)
    const validate = await plasmactl(['config', 'validate'])
    assert.equal(validate.code, 0, validate.stderr)
    assert.match(validate.stdout, /valid \(1 context, 2 nodes\)/)
    const asJson = json(await plasmactl(['config', 'validate', '--json']))
    assert.equal(asJson.ok, true)
    assert.equal(asJson.data?.path, path)
  })

  it('init refuses to overwrite without --force (exit 2), and overwrites with it', async () => {
    const args = ['config', 'init', '--context-name', 'lab', '--environment', 'lab', '--node', 'n1=127.0.0.1']
    const refused = await plasmactl(args)
    assert.equal(refused.code, 2)
    assert.match(refused.stderr, /already exists/)
    assert.match(refused.stderr, /--force/)
    const forced = await plasmactl([...args, '--force'])
    assert.equal(forced.code, 0, forced.stderr)
    assert.match(forced.stdout, /overwrote/)
  })

  it('init without flags and without a terminal fails fast (exit 2) listing the flags', async () => {
    const r = await plasmactl(['config', 'init', '--config', join(home, 'none.yaml')])
    assert.equal(r.code, 2)
    for (const flag of ['--context-name', '--environment', '--node']) assert.ok(r.stderr.includes(flag), r.stderr)
    assert.equal(existsSync(join(home, 'none.yaml')), false)
  })

  it('a config with a typo exits 2 and stderr names file:line:col, for validate and for any command', async () => {
    const file = join(home, 'typo.yaml')
    await writeFile(file, TWO_CONTEXTS.replace('    environment: staging', '    enviroment: staging'))
    const validate = await plasmactl(['config', 'validate', file])
    assert.equal(validate.code, 2)
    assert.ok(
      validate.stderr.includes(`${file}:12:5: contexts[1].enviroment: unknown key "enviroment"`),
      validate.stderr,
    )
    assert.ok(
      validate.stderr.includes(`${file}:11:5: contexts[1].environment: missing required key "environment"`),
      validate.stderr,
    )
    assert.equal(validate.stdout, '')
    const list = await plasmactl(['config', 'get-contexts', '--config', file])
    assert.equal(list.code, 2)
    assert.ok(list.stderr.includes(`${file}:11:5`), list.stderr)
    assert.doesNotMatch(list.stderr, /at .*\.js:\d+/) // no stack trace without --debug
  })

  it('--json error envelope parses and carries error.location and every problem', async () => {
    const file = join(home, 'typo-json.yaml')
    await writeFile(file, TWO_CONTEXTS.replace('current-context: prod', 'current-context: qa'))
    const r = await plasmactl(['config', 'validate', file, '--json'])
    assert.equal(r.code, 2)
    const env = json(r)
    assert.equal(env.ok, false)
    assert.equal(env.exitCode, 2)
    assert.equal(env.error?.code, 'USAGE')
    assert.equal(env.error?.location, `${file}:3:18`)
    const problems = (env.error?.details as {problems: {line: number; path: string}[]}).problems
    assert.deepEqual(
      problems.map((p) => [p.line, p.path]),
      [[3, 'current-context']],
    )
  })

  it('use-context switches and preserves comments', async () => {
    const file = join(home, 'two.yaml')
    await writeFile(file, TWO_CONTEXTS)
    const r = await plasmactl(['config', 'use-context', 'staging', '--config', file])
    assert.equal(r.code, 0, r.stderr)
    const text = await readFile(file, 'utf8')
    assert.equal(text, TWO_CONTEXTS.replace('current-context: prod #', 'current-context: staging #'))
    const missing = await plasmactl(['config', 'use-context', 'nope', '--config', file])
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /no context "nope"/)
  })

  it('get-contexts --json lists the contexts with the current marker', async () => {
    const file = join(home, 'list.yaml')
    await writeFile(file, TWO_CONTEXTS)
    const r = await plasmactl(['config', 'get-contexts', '--json'], {PLASMACTL_CONFIG: file})
    assert.equal(r.code, 0, r.stderr)
    const env = json(r)
    assert.deepEqual(env.data?.contexts, [
      {
        current: true,
        name: 'prod',
        environment: 'production',
        nodes: 2,
        endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'],
      },
      {current: false, name: 'staging', environment: 'staging', nodes: 0, endpoints: ['http://10.9.0.1:2379']},
    ])
    const table = await plasmactl(['config', 'get-contexts'], {PLASMACTL_CONFIG: file})
    assert.match(table.stdout.split('\n')[1], /^\*\s+prod\s+production\s+2\s+http:\/\/10\.0\.0\.1:2379/)
  })

  it('view --minify shows only the selected context, and secrets are redacted', async () => {
    const file = join(home, 'view.yaml')
    const secret = 'wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY'
    const withSecret = `${TWO_CONTEXTS}    snapshots:\n      targets:\n        - url: s3://backups/chainfire\n          access-key-id: AKIDEXAMPLE\n          secret-access-key: ${secret}\n`
    await writeFile(file, withSecret)
    const v = await plasmactl(['config', 'view', '--config', file])
    assert.equal(v.code, 0, v.stderr)
    assert.ok(!v.stdout.includes(secret), 'secret printed')
    assert.match(v.stdout, /secret-access-key: "?\[REDACTED\]"?/)
    assert.match(v.stdout, /# Clusters on call this week/)
    const min = json(
      await plasmactl(['config', 'view', '--config', file, '--minify', '--context', 'staging', '--json']),
    )
    const config = min.data?.config as {
      contexts: {name: string; snapshots?: {targets: {'secret-access-key': string}[]}}[]
    }
    assert.deepEqual(
      config.contexts.map((c) => c.name),
      ['staging'],
    )
    assert.equal(config.contexts[0].snapshots?.targets[0]['secret-access-key'], '[REDACTED]')
    assert.ok(!JSON.stringify(min).includes(secret))
  })

  it('an unknown command exits 2 with a suggestion', async () => {
    const typo = await plasmactl(['chainfire', 'memberz'])
    assert.equal(typo.code, 2)
    assert.match(typo.stderr, /did you mean `plasmactl chainfire members`\?/)
    const foo = await plasmactl(['foo'])
    assert.equal(foo.code, 2)
    assert.match(foo.stderr, /"foo" is not a plasmactl command/)
    const asJson = await plasmactl(['config', 'vew', '--json'])
    assert.equal(asJson.code, 2)
    assert.deepEqual((json(asJson).error?.details as {suggestions: string[]}).suggestions, ['config view'])
  })

  it('init --config creates missing directories and keeps --endpoint', async () => {
    const file = join(home, 'deep', 'er', 'config.yaml')
    await mkdir(join(home, 'deep'), {recursive: true})
    const r = await plasmactl([
      'config',
      'init',
      '--config',
      file,
      '--context-name',
      'x',
      '--environment',
      'staging',
      '--node',
      'a=10.0.0.1',
      '--endpoint',
      'https://10.0.0.1:2379',
    ])
    assert.equal(r.code, 0, r.stderr)
    const env = json(await plasmactl(['config', 'get-contexts', '--config', file, '--json']))
    assert.deepEqual((env.data?.contexts as {endpoints: string[]}[])[0].endpoints, ['https://10.0.0.1:2379'])
  })
})
