import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {describe, it} from 'node:test'
import {lintRunbookText, resolveParams} from '../../src/runbook/loader.js'
import {Redactor, renderCommand, stdinScript} from '../../src/runbook/template.js'

const vars = (params: Record<string, {value: string; secret: boolean}>) => ({
  params,
  run: {id: 'run-1'},
  context: {name: 'lab'},
  node: {name: 'n1', address: '127.0.0.1'},
})

describe('runbook templating', () => {
  it('shell-quotes every value and never re-templates substituted text', () => {
    const evil = `x'; touch /tmp/pwned; ' {{ params.other }} $(id) \`id\``
    const r = renderCommand(
      'echo {{ params.msg }} {{node.name}}',
      vars({msg: {value: evil, secret: false}, other: {value: 'SHOULD-NOT-APPEAR', secret: false}}),
    )
    assert.ok(!r.command.includes('SHOULD-NOT-APPEAR'))
    const out = execFileSync('/bin/sh', ['-c', r.command]).toString()
    assert.equal(out, `${evil} n1\n`)
  })

  it('secrets become environment references fed through stdin, and are redacted by value', () => {
    const r = renderCommand('echo token={{ params.token }}', vars({token: {value: "p@ss'word", secret: true}}))
    assert.equal(r.command, 'echo token="$PLASMA_SECRET_TOKEN"')
    assert.equal(execFileSync('/bin/sh', ['-s'], {input: stdinScript(r)}).toString(), "token=p@ss'word\n")
    const red = new Redactor(["p@ss'word"])
    assert.equal(red.text("got p@ss'word twice p@ss'word"), 'got *** twice ***')
    assert.deepEqual(red.deep({a: ["p@ss'word"]}), {a: ['***']})
  })
})

describe('runbook lint', () => {
  it('reports unknown keys, duplicate ids, bad references and missing fields with file:line', async () => {
    const text = `apiVersion: plasmactl/v1
kind: Runbook
metadata:
  name: t
params:
  node:
    type: node
steps:
  - id: a
    kind: run
    on: all
    command: echo {{ params.nope }}
  - id: a
    kind: service
    on: n1
  - id: b
    kind: runbook
    runbook: chainfire/restart-node
`
    const {problems} = await lintRunbookText(text, 'rb.yaml')
    const msgs = problems.map((p) => `${p.line}: ${p.message}`)
    assert.ok(
      msgs.some((m) => /^12: .*undeclared param "nope"/.test(m)),
      msgs.join('\n'),
    )
    assert.ok(
      msgs.some((m) => /^13: duplicate step id "a"/.test(m)),
      msgs.join('\n'),
    )
    assert.ok(
      msgs.some((m) => /^13: kind "service" needs "service"/.test(m)),
      msgs.join('\n'),
    )
    assert.ok(
      msgs.some((m) => /^18: included runbook "chainfire\/restart-node" needs param "node"/.test(m)),
      msgs.join('\n'),
    )
    const unknown = await lintRunbookText(
      text.replace('    command: echo', '    comand: x\n    command: echo'),
      'rb.yaml',
    )
    assert.ok(unknown.problems.some((p) => p.line === 12 && /unknown key "comand"/.test(p.message)))
  })

  it('validates typed params', async () => {
    const {runbook} = await lintRunbookText(
      `apiVersion: plasmactl/v1
kind: Runbook
metadata: {name: t}
params:
  n: {type: int, min: 1, max: 3, default: 2}
  m: {type: enum, values: [a, b], required: true}
  d: {type: duration, default: 5s}
  who: {type: node}
steps:
  - {id: x, kind: local, command: "true"}
`,
      'p.yaml',
    )
    assert.ok(runbook)
    assert.deepEqual(resolveParams(runbook, {m: 'a'}, ['n1']), {
      n: {value: 2, secret: false},
      m: {value: 'a', secret: false},
      d: {value: '5s', secret: false},
    })
    assert.throws(() => resolveParams(runbook, {}, ['n1']), /missing required param: m/)
    assert.throws(() => resolveParams(runbook, {m: 'c'}, ['n1']), /not one of: a, b/)
    assert.throws(() => resolveParams(runbook, {m: 'a', n: '9'}, ['n1']), /above the maximum/)
    assert.throws(() => resolveParams(runbook, {m: 'a', who: 'n9'}, ['n1']), /no node "n9"/)
    assert.throws(() => resolveParams(runbook, {m: 'a', zzz: '1'}, ['n1']), /no param "zzz"/)
  })
})
