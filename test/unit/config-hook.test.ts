import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {editDistance, suggestCommands} from '../../src/hooks/command-not-found.js'

const IDS = [
  'chainfire',
  'chainfire:members',
  'chainfire:move-leader',
  'config',
  'config:view',
  'config:validate',
  'config:use-context',
  'config:get-contexts',
  'config:init',
  'health',
  'lab',
  'lab:up',
]

describe('command-not-found suggestions', () => {
  it('edit distance', () => {
    assert.equal(editDistance('', ''), 0)
    assert.equal(editDistance('members', 'memberz'), 1)
    assert.equal(editDistance('kitten', 'sitting'), 3)
    assert.equal(editDistance('abc', ''), 3)
  })

  it('suggests the near command in the right topic rather than the topic', () => {
    assert.deepEqual(suggestCommands('chainfire:memberz', IDS), ['chainfire:members'])
  })

  it('ignores trailing arguments after the mistyped word', () => {
    assert.deepEqual(suggestCommands('config:use-contxt:prod', IDS), ['config:use-context'])
  })

  it('suggests a topic for a mistyped topic', () => {
    assert.deepEqual(suggestCommands('conifg', IDS), ['config'])
  })

  it('falls back to the topic when nothing under it is close', () => {
    assert.deepEqual(suggestCommands('chainfire:xyzzy', IDS), ['chainfire'])
  })

  it('suggests nothing for an unrelated word', () => {
    assert.deepEqual(suggestCommands('foo', IDS), [])
  })
})
