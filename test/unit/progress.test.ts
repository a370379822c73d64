import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {progressBar} from '../../src/output/progress.js'

/** A terminal-like stream that keeps what was written. */
function terminal(isTTY: boolean): {stream: NodeJS.WriteStream; text: () => string} {
  let out = ''
  const stream = {isTTY, write: (s: string) => ((out += s), true)} as unknown as NodeJS.WriteStream
  return {stream, text: () => out}
}

describe('snapshot progress bar', () => {
  it('redraws one line and ends it when done, leaving the last state on screen', () => {
    const t = terminal(true)
    const bar = progressBar(t.stream)
    bar.update({bytes: 512, total: 1024, rateBytesPerSec: 1024, etaMs: 500})
    bar.update({bytes: 1024, total: 1024, rateBytesPerSec: 1024, etaMs: 0})
    bar.done()
    const text = t.text()
    assert.equal(text.split('\n').length, 2, 'exactly one line ended')
    assert.ok(text.endsWith('\n'))
    assert.match(text.split('\r').at(-1)!, /100% /)
    bar.done()
    assert.equal(t.text(), text, 'a second done writes nothing')
  })

  it('writes nothing when not a terminal, and nothing when nothing was drawn', () => {
    const pipe = terminal(false)
    const b1 = progressBar(pipe.stream)
    b1.update({bytes: 1, total: 2, rateBytesPerSec: 1, etaMs: null})
    b1.done()
    assert.equal(pipe.text(), '')
    const tty = terminal(true)
    progressBar(tty.stream).done()
    assert.equal(tty.text(), '')
  })
})
