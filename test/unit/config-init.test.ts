import assert from 'node:assert/strict'
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {loadConfig} from '../../src/config/load.js'
import {validateConfigText} from '../../src/config/validate.js'
import {EXIT, PlasmaError, UsageError} from '../../src/errors.js'
import {getContexts, useContext} from '../../src/services/config/contexts.js'
import {
  initConfig,
  type InitAnswers,
  parseNodeFlag,
  renderConfig,
  TEMPLATE_PATH,
} from '../../src/services/config/init.js'
import {viewConfig} from '../../src/services/config/view.js'

async function rejectsWith(p: Promise<unknown>, exit: number, re: RegExp): Promise<PlasmaError> {
  try {
    await p
  } catch (error) {
    assert.ok(error instanceof PlasmaError, String(error))
    assert.equal(error.exitCode, exit)
    assert.match(`${error.message}\n${error.details.hint ?? ''}`, re)
    return error
  }
  assert.fail('expected a rejection')
}

describe('parseNodeFlag', () => {
  it('parses name=address with roles', () => {
    assert.deepEqual(parseNodeFlag('cp1=10.0.0.11:chainfire,flaredb'), {
      name: 'cp1',
      address: '10.0.0.11',
      roles: ['chainfire', 'flaredb'],
    })
  })
  it('defaults roles to chainfire', () => {
    assert.deepEqual(parseNodeFlag('cp1=node1.example.net'), {
      name: 'cp1',
      address: 'node1.example.net',
      roles: ['chainfire'],
    })
  })
  it('takes IPv6 addresses in brackets', () => {
    assert.deepEqual(parseNodeFlag('n6=[fd00::1]:iam'), {name: 'n6', address: 'fd00::1', roles: ['iam']})
    assert.deepEqual(parseNodeFlag('n6=[fd00::1]'), {name: 'n6', address: 'fd00::1', roles: ['chainfire']})
  })
  const shellish = [
    '10.0.0.1$(touch /tmp/m)',
    '`id`',
    'a;b',
    'a&&b',
    'a b',
    "a'b",
    'a"b',
    '-oProxyCommand=x',
    'a*',
    'ünï',
    'a|b',
    'a\nb',
  ]
  for (const bad of [
    'cp1',
    '=10.0.0.1',
    'cp1=',
    'cp1=10.0.0.1:chainfyre',
    'bad name=10.0.0.1',
    'n6=[fd00::1',
    ...shellish.map((a) => `n1=${a}`),
  ]) {
    it(`rejects "${bad}" as bad usage`, () => {
      assert.throws(
        () => parseNodeFlag(bad),
        (e: unknown) => e instanceof UsageError && e.exitCode === EXIT.USAGE && e.message.includes('--node'),
      )
    })
  }
})

describe('template', () => {
  it('is itself a valid config and references the JSON Schema', async () => {
    const text = await readFile(TEMPLATE_PATH, 'utf8')
    validateConfigText(text, TEMPLATE_PATH)
    assert.match(text.split('\n')[0], /^# yaml-language-server: \$schema=\.\.\/schemas\/config\.schema\.json$/)
  })

  it('renders answers into a valid config that keeps the comments', async () => {
    const answers: InitAnswers = {
      contextName: 'stage',
      environment: 'staging',
      nodes: [parseNodeFlag('a=10.1.0.1:chainfire,flaredb'), parseNodeFlag('b=10.1.0.2')],
      sshUser: 'ops',
      endpoints: ['http://10.1.0.1:2379'],
    }
    const text = renderConfig(await readFile(TEMPLATE_PATH, 'utf8'), answers)
    const {config} = validateConfigText(text, 'rendered.yaml')
    assert.equal(config['current-context'], 'stage')
    assert.equal(config.contexts.length, 1)
    assert.deepEqual(
      config.contexts[0].nodes.map((n) => [n.name, n.address, n.roles]),
      [
        ['a', '10.1.0.1', ['chainfire', 'flaredb']],
        ['b', '10.1.0.2', ['chainfire']],
      ],
    )
    assert.equal(config.contexts[0].ssh?.user, 'ops')
    assert.equal(config.contexts[0].ssh?.['identity-file'], undefined)
    assert.deepEqual(config.contexts[0].chainfire?.endpoints, ['http://10.1.0.1:2379'])
    assert.match(text, /# The nodes of the cluster/)
    assert.match(text, /roles: \[chainfire, flaredb\]/)
    assert.match(text.split('\n')[0], /\$schema=\/.*schemas\/config\.schema\.json$/)
  })
})

describe('config services on a real temp directory', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plasmactl-config-'))
  })
  after(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  it('init without answers and without a terminal fails fast listing the flags', async () => {
    const path = join(dir, 'none.yaml')
    const err = await rejectsWith(
      initConfig({path, force: false, flags: {}}),
      EXIT.USAGE,
      /--context-name.*--environment.*--node/,
    )
    assert.match(err.message, /no terminal/)
    await assert.rejects(stat(path), /ENOENT/)
  })

  it('init asks the prompter only for what the flags left out', async () => {
    const path = join(dir, 'asked.yaml')
    let given: Partial<InitAnswers> | undefined
    const result = await initConfig({
      path,
      force: false,
      flags: {contextName: 'lab1', nodes: ['n1=127.0.0.1']},
      prompter: async (g) => {
        given = g
        return {environment: 'lab'}
      },
    })
    assert.equal(given?.contextName, 'lab1')
    assert.equal(result.environment, 'lab')
    assert.equal((await loadConfig(path)).config.contexts[0].environment, 'lab')
  })

  it('init writes a valid file, refuses to overwrite it, and overwrites with force', async () => {
    const path = join(dir, 'sub', 'config.yaml')
    const flags = {
      contextName: 'prod',
      environment: 'production' as const,
      nodes: ['cp1=10.0.0.1', 'cp2=10.0.0.2:chainfire,iam'],
    }
    const first = await initConfig({path, force: false, flags})
    assert.equal(first.overwritten, false)
    assert.equal((await stat(path)).mode & 0o777, 0o600)
    const loaded = await loadConfig(path)
    assert.deepEqual(
      loaded.config.contexts.map((c) => c.name),
      ['prod'],
    )
    await rejectsWith(initConfig({path, force: false, flags}), EXIT.USAGE, /already exists[\s\S]*--force/)
    const again = await initConfig({path, force: true, flags: {...flags, contextName: 'prod2'}})
    assert.equal(again.overwritten, true)
    assert.equal((await loadConfig(path)).config['current-context'], 'prod2')
  })

  it('init rejects a bad --endpoint before writing', async () => {
    const path = join(dir, 'bad-endpoint.yaml')
    await rejectsWith(
      initConfig({
        path,
        force: false,
        flags: {contextName: 'x', environment: 'lab', nodes: ['n=1.2.3.4'], endpoints: ['not a url']},
      }),
      EXIT.USAGE,
      /--endpoint/,
    )
    await assert.rejects(stat(path), /ENOENT/)
  })

  it('init rejects duplicate node names as bad usage', async () => {
    const path = join(dir, 'dup.yaml')
    await rejectsWith(
      initConfig({
        path,
        force: false,
        flags: {contextName: 'x', environment: 'lab', nodes: ['n=1.2.3.4', 'n=1.2.3.5']},
      }),
      EXIT.USAGE,
      /node "n" is given twice/,
    )
    await assert.rejects(stat(path), /ENOENT/)
  })

  const twoContexts = [
    '# Clusters I operate.',
    'apiVersion: plasmactl/v1',
    'current-context: prod # the default',
    'contexts:',
    '  # Production, eu1',
    '  - name: prod',
    '    environment: production',
    '    nodes:',
    '      - {name: cp1, address: 10.0.0.1, roles: [chainfire]}',
    '      - {name: cp2, address: 10.0.0.2, roles: [chainfire], removed: true}',
    '  - name: staging',
    '    environment: staging',
    '    chainfire:',
    '      endpoints: [http://10.9.0.1:2379]',
    '',
  ].join('\n')

  it('use-context switches and keeps comments and layout', async () => {
    const path = join(dir, 'two.yaml')
    await writeFile(path, twoContexts)
    const result = await useContext({path, name: 'staging'})
    assert.deepEqual(result, {path, previous: 'prod', currentContext: 'staging', changed: true})
    const text = await readFile(path, 'utf8')
    assert.equal(
      text,
      twoContexts.replace('current-context: prod # the default', 'current-context: staging # the default'),
    )
    await rejectsWith(useContext({path, name: 'nope'}), EXIT.USAGE, /no context "nope".*have: prod, staging/)
  })

  it('use-context adds current-context after apiVersion when it is missing', async () => {
    const path = join(dir, 'nocurrent.yaml')
    await writeFile(path, twoContexts.replace('current-context: prod # the default\n', ''))
    await useContext({path, name: 'prod'})
    assert.match(
      await readFile(path, 'utf8'),
      /^# Clusters I operate.\napiVersion: plasmactl\/v1\ncurrent-context: prod\ncontexts:/,
    )
  })

  it('get-contexts lists current marker, environment, active nodes and endpoints', async () => {
    const path = join(dir, 'list.yaml')
    await writeFile(path, twoContexts)
    const result = await getContexts({path})
    assert.deepEqual(result.contexts, [
      {current: true, name: 'prod', environment: 'production', nodes: 1, endpoints: ['http://10.0.0.1:2379']},
      {current: false, name: 'staging', environment: 'staging', nodes: 0, endpoints: ['http://10.9.0.1:2379']},
    ])
  })

  it('view --minify keeps only the selected context', async () => {
    const path = join(dir, 'view.yaml')
    await writeFile(path, twoContexts)
    const full = await viewConfig({path, minify: false})
    assert.equal(full.data.config.contexts.length, 2)
    assert.match(full.yaml, /# Clusters I operate/)
    const min = await viewConfig({path, minify: true, context: 'staging'})
    assert.deepEqual(
      min.data.config.contexts.map((c) => c.name),
      ['staging'],
    )
    assert.equal(min.data.config['current-context'], 'staging')
    assert.doesNotMatch(min.yaml, /name: prod/)
    assert.match(min.yaml, /current-context: staging/)
  })
})
