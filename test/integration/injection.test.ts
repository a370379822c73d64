import assert from 'node:assert/strict'
import {randomBytes} from 'node:crypto'
import {chmod, mkdir, readdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {type CliResult, type Lab, startLab} from '../helpers/lab.js'

/** A value quoted for a POSIX shell the way a reader expects it (written here, not taken from the code under test). */
const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`)

/** Each payload, given the marker file it tries to create. */
const PAYLOADS: [string, (marker: string, glob: string) => string][] = [
  ['command substitution', (m) => `$(touch ${m})`],
  ['backticks', (m) => `\`touch ${m}\``],
  ['semicolon', (m) => `x; touch ${m}`],
  ['and-list', (m) => `x && touch ${m}`],
  ['newline', (m) => `x\ntouch ${m}`],
  ['single quotes', (m) => `x'; touch ${m}; '`],
  ['double quotes', (m) => `x"; touch ${m}; "`],
  ['option', (m) => `-oProxyCommand=touch ${m}`],
  ['glob', (_m, g) => `${g}/*`],
  ['unicode', (m) => `ünï ✓ — $(touch ${m})`],
  ['template syntax', () => '{{ params.token }}'],
]

/** Fields of a runbook step that reach a shell and write the value they were given to OUT/FIELD-I. */
const SHELL_FIELDS = ['run', 'local', 'check', 'cond', 'when', 'until'] as const

/** Every file below DIR (recursively) whose bytes contain NEEDLE. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = []
  for (const e of await readdir(dir, {withFileTypes: true, recursive: true})) {
    if (!e.isFile()) continue
    const path = join(e.parentPath, e.name)
    const content = await readFile(path).catch(() => Buffer.alloc(0))
    if (content.includes(needle)) hits.push(path)
  }
  return hits
}

/** Polls every process's argv (/proc/PID/cmdline) until stopped: which argv held NEEDLE, and which held SEEN. */
function watchProcesses(needle: string, seen: RegExp) {
  let running = true
  const hits = new Set<string>()
  const sightings = new Set<string>()
  const loop = (async () => {
    while (running) {
      for (const pid of await readdir('/proc')) {
        if (!/^\d+$/.test(pid)) continue
        const argv = (await readFile(`/proc/${pid}/cmdline`).catch(() => Buffer.alloc(0)))
          .toString('utf8')
          .replaceAll('\0', ' ')
        if (argv.includes(needle)) hits.add(argv)
        const m = seen.exec(argv)
        if (m) sightings.add(m[0])
      }
      await new Promise((r) => setTimeout(r, 5))
    }
  })()
  return {
    async stop() {
      running = false
      await loop
      return {hits: [...hits], sightings: [...sightings]}
    },
  }
}

describe('nothing a user passes in runs as shell code; secrets stay out of argv and output', () => {
  let lab: Lab
  let work: string
  let out: string
  let markers: string
  let glob: string
  let env: Record<string, string>
  let payloads: string[]
  /** The payload table: every payload in every templated field, plus the secret in each (no waiting). */
  let table: string
  /** The secret in every field, each step holding its process for a moment so the process list can be watched. */
  let slow: string
  const core = `Sup3rSecret${randomBytes(6).toString('hex')}`
  let secret: string
  const cli = (args: string[], extra: Record<string, string> = {}) => lab.cli(args, {env: {...env, ...extra}})
  const markersLeft = async () => readdir(markers)
  const show = (r: CliResult) => `exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`
  const noSecretIn = (r: CliResult, what: string) => {
    assert.ok(!r.stdout.includes(core), `secret in ${what} stdout:\n${r.stdout}`)
    assert.ok(!r.stderr.includes(core), `secret in ${what} stderr:\n${r.stderr}`)
  }
  /** Runs the CLI while watching every process's argv for the secret. */
  const watched = async (args: string[], extra: Record<string, string> = {}) => {
    const watch = watchProcesses(core, /sleep 1\.0\d/)
    const r = await cli(args, extra)
    const seen = await watch.stop()
    assert.deepEqual(seen.hits, [], 'the secret was in the argv of a process')
    return {r, sightings: seen.sightings}
  }
  const writeRunbook = async (
    name: string,
    params: Record<string, unknown>,
    steps: unknown[],
    preconditions: unknown[] = [],
  ) => {
    const f = join(work, `${name}.yaml`)
    // JSON is YAML.
    await writeFile(
      f,
      JSON.stringify(
        {apiVersion: 'plasmactl/v1', kind: 'Runbook', metadata: {name}, params, preconditions, steps},
        null,
        1,
      ),
    )
    return f
  }

  before(async () => {
    lab = await startLab({nodes: 3})
    work = join(lab.dir, '..', 'work')
    out = join(work, 'out')
    markers = join(work, 'markers')
    glob = join(work, 'glob')
    for (const d of [work, out, markers, glob]) {
      await mkdir(d, {recursive: true})
      // Commands on the node run as the lab user.
      await chmod(d, 0o777)
    }
    await writeFile(join(glob, 'a'), '')
    await writeFile(join(glob, 'b'), '')
    payloads = PAYLOADS.map(([, p], i) => p(join(markers, `p${i}`), glob))
    secret = `${core}'$(touch ${join(markers, 'secret')})`
    env = {PLASMACTL_STATE_DIR: join(work, 'state'), PLASMACTL_PARAM_TOKEN: secret}
    payloads.forEach((p, i) => (env[`PLASMACTL_PARAM_P${i}`] = p))

    const value = (i: number) => `{{ params.p${i} }}`
    const write = (field: string, i: number) => `printf '%s' ${value(i)} > ${out}/${field}-${i}`
    const token = '{{ params.token }}'
    const secretSteps = (sleep: (n: number) => string) => [
      {
        id: 's-run',
        kind: 'run',
        on: 'n1',
        command: `test -n ${token} && echo "token is ${token}"${sleep(1)}`,
        confirm: `use ${token}?`,
      },
      {id: 's-check', kind: 'check', on: 'n1', command: `test -n ${token}${sleep(2)}`},
      {
        id: 's-cond',
        kind: 'check',
        condition: {all: [{command: `test -n ${token}${sleep(3)}`, on: 'n1'}, {'leader-is-not': token}]},
      },
      {
        id: 's-when',
        kind: 'local',
        command: 'true',
        when: {command: `test -n ${token}${sleep(4)}`, on: 'n1'},
        until: {command: `test -n ${token}${sleep(5)}`, on: 'n1'},
      },
      {id: 's-local', kind: 'local', command: `test -n ${token} && echo "local ${token}"${sleep(6)}`},
      {id: 's-manual', kind: 'manual', instructions: `type ${token} into the console`},
      {id: 's-fail', kind: 'run', on: 'n1', command: `echo "bad ${token}" >&2; exit 1`, on_failure: 'continue'},
    ]
    const tokenParam = {token: {type: 'string', secret: true, required: true}}
    const params: Record<string, unknown> = {...tokenParam}
    payloads.forEach((_p, i) => (params[`p${i}`] = {type: 'string', required: true}))
    table = await writeRunbook('table', params, [
      ...payloads.flatMap((_p, i) => [
        {
          id: `run-${i}`,
          kind: 'run',
          on: 'n1',
          command: write('run', i),
          confirm: `really ${value(i)}?`,
          when: {command: write('when', i), on: 'n1'},
          until: {command: write('until', i), on: 'n1'},
        },
        {
          id: `local-${i}`,
          kind: 'local',
          command: write('local', i),
          when: {any: [{'service-active': 'n1', component: value(i)}, {quorum: true}]},
        },
        {id: `check-${i}`, kind: 'check', on: 'n1', command: write('check', i)},
        {id: `cond-${i}`, kind: 'check', condition: {command: write('cond', i), on: 'n1'}},
        {id: `manual-${i}`, kind: 'manual', instructions: `do ${value(i)} by hand`},
        {id: `service-${i}`, kind: 'service', on: 'n1', service: value(i), verb: 'is-active', on_failure: 'continue'},
      ]),
      ...secretSteps(() => ''),
    ])
    slow = await writeRunbook(
      'slow',
      tokenParam,
      secretSteps((n) => ` && sleep 1.0${n}`),
      [{command: `test -n ${token} && sleep 1.07`, on: 'n1'}],
    )
  })

  after(async () => {
    await lab?.stop()
  })

  it('dry run: every field is rendered quoted, nothing runs, and the secret is shown nowhere', async () => {
    const json = await cli(['runbook', 'run', table, '--dry-run', '--json', '--debug'])
    assert.equal(json.exitCode, 0, show(json))
    const human = await cli(['runbook', 'run', slow, '--dry-run', '--debug', '--param', `token=${secret}`])
    assert.equal(human.exitCode, 0, show(human))
    assert.deepEqual(await markersLeft(), [], 'a dry run ran injected code')
    assert.deepEqual(await readdir(out), [], 'a dry run ran a runbook command')
    noSecretIn(json, 'dry-run --json')
    noSecretIn(human, 'dry-run')
    const plan = new Map<string, {describe: string[]; check?: {ok: boolean | null}}>(
      json.json.data.plan.map((p: {step: string}) => [p.step, p]),
    )
    const whenNote = (i: number) =>
      `when command=printf '%s' {{ params.p${i} }} > ${out}/when-${i} on=n1: not evaluated: a dry run runs no commands`
    payloads.forEach((p, i) => {
      assert.deepEqual(plan.get(`run-${i}`)!.describe, [
        whenNote(i),
        `confirm: really ${p}?`,
        `n1: printf '%s' ${q(p)} > ${out}/run-${i}`,
      ])
      assert.deepEqual(plan.get(`local-${i}`)!.describe, [`printf '%s' ${q(p)} > ${out}/local-${i}`])
      assert.deepEqual(plan.get(`manual-${i}`)!.describe, [`manual: do ${p} by hand`])
      assert.deepEqual(plan.get(`service-${i}`)!.describe, [`n1: systemctl is-active ${q(p)}`])
      assert.equal(plan.get(`check-${i}`)!.check!.ok, null, 'a dry run does not run check commands')
      assert.equal(plan.get(`cond-${i}`)!.check!.ok, null, 'a dry run does not run condition commands')
    })
    assert.deepEqual(plan.get('s-manual')!.describe, ['manual: type *** into the console'])
    assert.deepEqual(plan.get('s-run')!.describe, [
      'confirm: use ***?',
      'n1: test -n "$PLASMA_SECRET_TOKEN" && echo "token is "$PLASMA_SECRET_TOKEN""',
    ])
    assert.match(human.stdout, /manual: type \*\*\* into the console/)
    assert.match(
      human.stderr,
      /secret param token was given with --param, so it is in this machine's process list: prefer PLASMACTL_PARAM_TOKEN/,
    )
  })

  it('run: every payload reaches its command as one literal value and no marker appears; the --json result holds no secret', async () => {
    const {r: json} = await watched(['runbook', 'run', table, '--yes', '--allow-manual', '--json', '--debug'])
    assert.equal(json.exitCode, 0, show(json))
    assert.deepEqual(await markersLeft(), [], 'injected code ran')
    for (const [i, p] of payloads.entries()) {
      for (const field of SHELL_FIELDS)
        assert.equal(
          await readFile(join(out, `${field}-${i}`), 'utf8'),
          p,
          `${field} with the ${PAYLOADS[i][0]} payload`,
        )
    }
    const result = json.json.data
    const detail = (step: string) => result.steps.find((s: {step: string}) => s.step === step)?.detail
    payloads.forEach((p, i) =>
      assert.equal(detail(`manual-${i}`), `manual step allowed (--allow-manual): do ${p} by hand`),
    )
    assert.equal(detail('s-manual'), 'manual step allowed (--allow-manual): type *** into the console')
    noSecretIn(json, 'run --json')
  })

  it('a secret is in no argv on the node while its steps run, nor in output, --debug, journals, transcripts or the state directory', async () => {
    // A plain secret: code that put it in an argv would run (and wait) with it there.
    const {r: human, sightings} = await watched(['runbook', 'run', slow, '--yes', '--allow-manual', '--debug'], {
      PLASMACTL_PARAM_TOKEN: core,
    })
    assert.equal(human.exitCode, 0, show(human))
    assert.ok(sightings.length > 0, 'the process list was watched while the secret steps ran')
    assert.match(human.stderr, /n1 \| token is \*\*\*/)
    assert.match(human.stderr, /bad \*\*\*/)
    noSecretIn(human, 'run --debug')
    const runId = /^run (run-\S+):/m.exec(human.stdout)?.[1]
    assert.ok(runId, human.stdout)
    const transcript = await cli(['runbook', 'log', runId, '--format', 'markdown'])
    assert.equal(transcript.exitCode, 0, show(transcript))
    noSecretIn(transcript, 'transcript')
    assert.deepEqual(await filesContaining(join(work, 'state'), core), [], 'secret in the state directory (journals)')
    assert.deepEqual(await filesContaining(lab.dir, core), [], 'secret in the lab (node) files')
  })

  it('a secret param cannot name a target, service or component', async () => {
    const f = await writeRunbook('secret-service', {token: {type: 'string', secret: true}}, [
      {id: 'svc', kind: 'service', on: 'n1', service: '{{ params.token }}', verb: 'is-active'},
    ])
    const r = await cli(['runbook', 'run', f, '--yes'])
    assert.equal(r.exitCode, 2, show(r))
    assert.match(r.stderr, /secret param "token" cannot name a target, service or component/)
    noSecretIn(r, 'refused run')
  })

  it('host names and users with shell metacharacters are refused: config, config init, exec targets', async () => {
    const marker = (i: number) => join(markers, `ssh-${i}`)
    const sshPayloads = PAYLOADS.map(([, p], i) => p(marker(i), glob))
    // Config validation: every node address, user and jump host refused with exit 2.
    const badConfig = join(work, 'bad-config.yaml')
    const nodes = sshPayloads.map((p, i) => ({name: `b${i}`, address: p, ssh: {user: p}}))
    await writeFile(
      badConfig,
      JSON.stringify({
        apiVersion: 'plasmactl/v1',
        'current-context': 'bad',
        contexts: [{name: 'bad', environment: 'lab', ssh: {'jump-host': `j$(touch ${marker(99)})`}, nodes}],
      }),
    )
    const v = await lab.cli(['config', 'validate', badConfig, '--json'])
    assert.equal(v.exitCode, 2, show(v))
    const problems = v.json.error.details.problems.map((p: {path: string}) => p.path)
    for (const [i] of sshPayloads.entries()) {
      assert.ok(
        problems.includes(`contexts[0].nodes[${i}].address`),
        `address ${i} not refused: ${problems.join(', ')}`,
      )
      assert.ok(problems.includes(`contexts[0].nodes[${i}].ssh.user`), `user ${i} not refused: ${problems.join(', ')}`)
    }
    assert.ok(problems.includes('contexts[0].ssh.jump-host'), problems.join(', '))
    const init = (extra: string[]) =>
      lab.cli([
        'config',
        'init',
        '--config',
        join(work, 'init.yaml'),
        '--force',
        '--context-name',
        'c',
        '--environment',
        'lab',
        ...extra,
      ])
    const address = await init(['--node', `n1=${sshPayloads[0]}`])
    assert.equal(address.exitCode, 2, show(address))
    assert.match(address.stderr, /invalid --node .*the address must be a host name or IP address/)
    const user = await init(['--node', 'n1=10.0.0.1', '--ssh-user', sshPayloads[0]])
    assert.equal(user.exitCode, 2, show(user))
    assert.match(user.stderr, /invalid --ssh-user/)
    const target = await cli(['exec', `n1$(touch ${marker(98)})`, '--', 'true'])
    assert.equal(target.exitCode, 2, show(target))
    assert.deepEqual(await markersLeft(), [], 'injected code ran')
  })

  it('ProxyCommand tokens %h %p %r %n arrive as one word each, whatever the ssh_config names hold', async () => {
    // The operator's own ssh_config may hold any name (as in OpenSSH): only its expansion is at stake.
    const sshPayloads = PAYLOADS.map(([, p], i) => p(join(markers, `proxy-${i}`), glob))
    const proxyLog = join(work, 'proxy.log')
    const proxy = join(work, 'proxy.sh')
    await writeFile(proxy, `#!/bin/sh\nprintf '[%s]' "$@" >> ${proxyLog}\necho >> ${proxyLog}\nexit 1\n`, {mode: 0o755})
    // A value with spaces must be quoted in ssh_config (as ssh requires); one with a newline or a double quote cannot be written.
    const usable = sshPayloads.filter((p) => !p.includes('\n') && !p.includes('"'))
    const sshConfig = join(work, 'ssh_config')
    await writeFile(
      sshConfig,
      `${usable.map((p, i) => `Host px${i}\n  HostName "${p}"\n  User "${p}"\n`).join('')}Host px*\n  ProxyCommand ${proxy} %h %p %r %n\n`,
    )
    const pxConfig = join(work, 'px-config.yaml')
    const ssh = {
      'config-file': sshConfig,
      'connect-timeout': '5s',
      'known-hosts': join(work, 'px_known_hosts'),
      'identity-file': join(lab.dir, 'ssh', 'id_ed25519'),
    }
    await writeFile(
      pxConfig,
      JSON.stringify({
        apiVersion: 'plasmactl/v1',
        'current-context': 'px',
        contexts: [
          {name: 'px', environment: 'lab', ssh, nodes: usable.map((_p, i) => ({name: `px${i}`, address: `px${i}`}))},
        ],
      }),
    )
    const px = await lab.cli(['exec', 'all', '--json', '--', 'true'], {env: {PLASMACTL_CONFIG: pxConfig}})
    assert.equal(px.exitCode, 3, show(px))
    const lines = (await readFile(proxyLog, 'utf8')).trim().split('\n').sort()
    assert.deepEqual(lines, usable.map((p, i) => `[${p}][22][${p}][px${i}]`).sort())
    assert.deepEqual(await markersLeft(), [], 'injected code ran')
  })
})
