/**
 * schemas/config.schema.json and the config loader agree: a table of configs judged by ajv (the
 * published JSON Schema, as editors use it) and by `plasmactl config validate`. Rules JSON Schema
 * cannot state (names unique within a list, current-context naming a context) are the loader's
 * alone; the table marks them and the loader must still reject them. The runbook schema compiles
 * in ajv's strict mode.
 */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import {Ajv} from 'ajv'
import addFormats from 'ajv-formats'
import {parse} from 'yaml'
import {REPO_ROOT, runCli} from '../helpers/lab.js'

const NODE = '{name: n1, address: 127.0.0.1, roles: [chainfire]}'
const config = (extra: {ctx?: string; node?: string; top?: string} = {}) =>
  `apiVersion: plasmactl/v1\ncurrent-context: a\n${extra.top ?? ''}contexts:\n  - name: a\n    environment: lab\n${extra.ctx ?? ''}    nodes:\n      - ${extra.node ?? NODE}\n`

/** [label, config text, expected verdict, loader-only rule] */
const CASES: [string, string, boolean, boolean?][] = [
  ['minimal', config(), true],
  ['ssh port in range', config({ctx: '    ssh: {port: 2222}\n'}), true],
  ['ssh port 0', config({ctx: '    ssh: {port: 0}\n'}), false],
  ['ssh port 70000', config({ctx: '    ssh: {port: 70000}\n'}), false],
  ['node ssh port 65536', config({node: '{name: n1, address: 127.0.0.1, ssh: {port: 65536}}'}), false],
  [
    'client-url with host',
    config({node: "{name: n1, address: 127.0.0.1, chainfire: {client-url: 'http://127.0.0.1:2379'}}"}),
    true,
  ],
  [
    'client-url http:// with no host',
    config({node: "{name: n1, address: 127.0.0.1, chainfire: {client-url: 'http://'}}"}),
    false,
  ],
  ['endpoint not a URL', config({ctx: "    chainfire: {endpoints: ['not a url']}\n"}), false],
  ['iam url with no host', config({ctx: "    iam: {url: 'https://'}\n"}), false],
  ['unknown top-level key', config({top: 'colour: blue\n'}), false],
  ['unknown node key', config({node: '{name: n1, address: 127.0.0.1, colour: blue}'}), false],
  ['unknown role', config({node: '{name: n1, address: 127.0.0.1, roles: [chainfier]}'}), false],
  ['environment not in the list', config().replace('environment: lab', 'environment: prod'), false],
  ['address with a shell metacharacter', config({node: "{name: n1, address: '10.0.0.1$(id)'}"}), false],
  ['address starting with -', config({node: "{name: n1, address: '-oProxyCommand=x'}"}), false],
  ['ftp snapshot target', config({ctx: "    snapshots: {targets: ['ftp://x/y']}\n"}), false],
  ['file snapshot target', config({ctx: "    snapshots: {targets: ['file:///var/backups']}\n"}), true],
  ['wrong apiVersion', config().replace('plasmactl/v1', 'plasmactl/v2'), false],
  ['duplicate context names', config() + '  - name: a\n    environment: lab\n    nodes: []\n', false, true],
  ['duplicate node names', config({node: `${NODE}\n      - {name: n1, address: 127.0.0.2}`}), false, true],
  ['current-context names no context', config().replace('current-context: a', 'current-context: zz'), false, true],
]

describe('config: JSON Schema (ajv) and the loader give the same verdicts', () => {
  let dir: string
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'plasmactl-schema-'))
  })
  after(() => rm(dir, {recursive: true, force: true}))

  test(`${CASES.length} configs`, async () => {
    const ajv = new Ajv({allErrors: true, strict: false})
    addFormats.default(ajv)
    const validate = ajv.compile(JSON.parse(readFileSync(join(REPO_ROOT, 'schemas', 'config.schema.json'), 'utf8')))
    const disagree: string[] = []
    await Promise.all(
      CASES.map(async ([label, text, expected, loaderOnly], i) => {
        const file = join(dir, `c${i}.yaml`)
        await writeFile(file, text)
        const r = await runCli(['config', 'validate', '--config', file, '--json'])
        const loader = r.exitCode === 0
        if (!loader && r.exitCode !== 2) disagree.push(`${label}: loader exit ${r.exitCode} ${r.stdout}${r.stderr}`)
        const schema = validate(parse(text)) === true
        if (loader !== expected)
          disagree.push(
            `${label}: loader ${loader ? 'accepts' : 'rejects'}, expected ${expected ? 'accept' : 'reject'}`,
          )
        if (!loaderOnly && schema !== loader)
          disagree.push(
            `${label}: JSON Schema ${schema ? 'accepts' : 'rejects'}, loader ${loader ? 'accepts' : 'rejects'}`,
          )
      }),
    )
    assert.deepEqual(disagree.sort(), [])
  })

  test('both schemas compile in ajv strict mode', () => {
    for (const name of ['config.schema.json', 'runbook.schema.json']) {
      const ajv = new Ajv({strict: true, allErrors: true})
      addFormats.default(ajv)
      assert.doesNotThrow(() => ajv.compile(JSON.parse(readFileSync(join(REPO_ROOT, 'schemas', name), 'utf8'))), name)
    }
  })
})
