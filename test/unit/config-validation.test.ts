import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {ConfigValidationError, validateConfigText, type ValidationProblem} from '../../src/config/validate.js'
import {EXIT} from '../../src/errors.js'

const FILE = '/etc/plasmactl/config.yaml'

/** Validates TEXT, expecting failure; returns the problems. */
function problemsOf(text: string): ValidationProblem[] {
  try {
    validateConfigText(text, FILE)
  } catch (error) {
    assert.ok(error instanceof ConfigValidationError, `expected ConfigValidationError, got ${String(error)}`)
    assert.equal(error.exitCode, EXIT.USAGE)
    return error.problems
  }
  assert.fail('expected the config to be invalid')
}

const where = (p: ValidationProblem) => `${p.file}:${p.line}:${p.column}`

describe('config validation points at file:line:column', () => {
  it('(a) a typo in a key is an unknown key, located at the key, with the allowed keys', () => {
    const problems = problemsOf(
      [
        'apiVersion: plasmactl/v1', // 1
        'contexts:', // 2
        '  - name: prod', // 3
        '    environment: production', // 4
        '    nodes:', // 5
        '      - name: n1', // 6
        '        adress: 10.0.0.1', // 7  <- typo
      ].join('\n'),
    )
    const typo = problems.find((p) => p.message.includes('unknown key'))
    assert.ok(typo, JSON.stringify(problems))
    assert.equal(where(typo), `${FILE}:7:9`)
    assert.equal(typo.path, 'contexts[0].nodes[0].adress')
    assert.match(typo.message, /unknown key "adress"; expected one of: .*address/)
  })

  it('(a) every unknown key in one map is reported, each at its own position', () => {
    const problems = problemsOf(['apiVersion: plasmactl/v1', 'curent-context: prod', 'contexs: []'].join('\n'))
    assert.deepEqual(
      problems.map((p) => [where(p), p.path]),
      [
        [`${FILE}:2:1`, 'curent-context'],
        [`${FILE}:3:1`, 'contexs'],
      ],
    )
  })

  it('(b) a wrong type is located at the value and says what was expected', () => {
    const problems = problemsOf(
      [
        'apiVersion: plasmactl/v1', // 1
        'contexts:', // 2
        '  - name: prod', // 3
        '    environment: production', // 4
        '    ssh:', // 5
        '      port: "22"', // 6  <- string, not number
      ].join('\n'),
    )
    assert.equal(problems.length, 1)
    assert.equal(where(problems[0]), `${FILE}:6:13`)
    assert.equal(problems[0].path, 'contexts[0].ssh.port')
    assert.match(problems[0].message, /expected number, received string/)
    assert.doesNotMatch(problems[0].message, /missing/)
  })

  it('(c) a missing required key is located at the map that lacks it', () => {
    const problems = problemsOf(
      [
        'apiVersion: plasmactl/v1', // 1
        'contexts:', // 2
        '  - name: prod', // 3
        '    nodes: []', // 4
        '  - name: lab', // 5
        '    environment: lab', // 6
      ].join('\n'),
    )
    assert.equal(problems.length, 1)
    assert.equal(where(problems[0]), `${FILE}:3:5`)
    assert.equal(problems[0].path, 'contexts[0].environment')
    assert.equal(problems[0].message, 'missing required key "environment"')
  })

  it('(c) a missing apiVersion is reported at the top of the file', () => {
    const problems = problemsOf('contexts: []\n')
    assert.equal(where(problems[0]), `${FILE}:1:1`)
    assert.equal(problems[0].message, 'missing required key "apiVersion"')
  })

  it('(d) a YAML syntax error carries the parser position', () => {
    const problems = problemsOf(
      [
        'apiVersion: plasmactl/v1', // 1
        'contexts:', // 2
        '  - name: prod', // 3
        '    environment: production: lab', // 4  <- a second ": " on one line
      ].join('\n'),
    )
    assert.equal(problems.length, 1)
    assert.equal(problems[0].path, '')
    assert.match(problems[0].message, /^YAML syntax error: Nested mappings are not allowed/)
    assert.equal(where(problems[0]), `${FILE}:4:18`)
  })

  it('(d) a tab used as indentation is a syntax error at the tab', () => {
    const problems = problemsOf('apiVersion: plasmactl/v1\ncontexts:\n\t- name: prod\n')
    assert.equal(where(problems[0]), `${FILE}:3:1`)
    assert.match(problems[0].message, /Tabs are not allowed/)
  })

  it('(d) a duplicate key is a syntax error at the second key', () => {
    const problems = problemsOf(['apiVersion: plasmactl/v1', 'contexts: []', 'contexts: []'].join('\n'))
    assert.equal(where(problems[0]), `${FILE}:3:1`)
    assert.match(problems[0].message, /unique/)
  })

  it('(e) duplicate context and node names are located at the second name', () => {
    const problems = problemsOf(
      [
        'apiVersion: plasmactl/v1', // 1
        'contexts:', // 2
        '  - name: prod', // 3
        '    environment: production', // 4
        '    nodes:', // 5
        '      - {name: n1, address: 10.0.0.1}', // 6
        '      - name: n1', // 7  <- duplicate node
        '        address: 10.0.0.2', // 8
        '  - name: prod', // 9  <- duplicate context
        '    environment: staging', // 10
      ].join('\n'),
    )
    const node = problems.find((p) => p.message === 'duplicate node name "n1"')
    const ctx = problems.find((p) => p.message === 'duplicate context name "prod"')
    assert.ok(node && ctx, JSON.stringify(problems))
    assert.equal(where(node), `${FILE}:7:15`)
    assert.equal(node.path, 'contexts[0].nodes[1].name')
    assert.equal(where(ctx), `${FILE}:9:11`)
    assert.equal(ctx.path, 'contexts[1].name')
  })

  it('(f) current-context naming no context is located at its value', () => {
    const problems = problemsOf(
      [
        'apiVersion: plasmactl/v1', // 1
        '# the default', // 2
        'current-context: staging', // 3
        'contexts:', // 4
        '  - name: prod', // 5
        '    environment: production', // 6
      ].join('\n'),
    )
    assert.equal(problems.length, 1)
    assert.equal(where(problems[0]), `${FILE}:3:18`)
    assert.equal(problems[0].path, 'current-context')
    assert.match(problems[0].message, /current-context "staging" names no context \(have: prod\)/)
  })

  it('the error message and details point at the first problem', () => {
    try {
      validateConfigText('apiVersion: plasmactl/v1\ncontexts: []\nbogus: 1\n', FILE)
      assert.fail('expected failure')
    } catch (error) {
      assert.ok(error instanceof ConfigValidationError)
      assert.equal(error.details.file, FILE)
      assert.equal(error.details.line, 3)
      assert.equal(error.details.column, 1)
      assert.match(error.message, /^bogus: unknown key "bogus"/)
    }
  })

  it('a valid config passes and fills defaults', () => {
    const {config} = validateConfigText(
      [
        'apiVersion: plasmactl/v1',
        'current-context: prod',
        'contexts:',
        '  - name: prod',
        '    environment: production',
        '    nodes:',
        '      - {name: n1, address: 10.0.0.1}',
      ].join('\n'),
      FILE,
    )
    assert.deepEqual(config.contexts[0].nodes[0].roles, [])
    assert.equal(config['current-context'], 'prod')
  })
})
