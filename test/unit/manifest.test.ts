import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {MANIFEST_FIELDS, MANIFEST_FORMAT, type Manifest, parseManifest} from '../../src/services/snapshot/manifest.js'
import {manifestSchema} from '../../src/services/snapshot/manifest-schema.js'

const valid: Manifest = {
  format: MANIFEST_FORMAT,
  name: 'lab-20261202t120000z-r42',
  context: 'lab',
  clusterId: '82d3bb1f3417a009',
  sourceMember: 'n1',
  sourceEndpoint: 'http://127.0.0.1:2379',
  revision: 42,
  raftTerm: 2,
  raftIndex: 57,
  keyCount: 12,
  size: 20480,
  sha256: 'a'.repeat(64),
  dbSha256: 'b'.repeat(64),
  createdAt: '2026-12-02T12:00:00.000Z',
  durationMs: 31,
  plasmactlVersion: '0.1.0',
  hashKV: {hash: 3735928559, compactRevision: 0, revision: 42},
}
/** Values every field is tried with: each type JSON has, and the near misses. */
const probes: unknown[] = [
  {hash: 1, compactRevision: 0},
  {hash: 1, compactRevision: 0, revision: '42'},
  undefined,
  null,
  '',
  'x',
  'c'.repeat(64),
  'C'.repeat(64),
  0,
  -1,
  1.5,
  true,
  [],
  {},
  MANIFEST_FORMAT,
]
const quickCheck = (raw: Record<string, unknown>) => Object.entries(MANIFEST_FIELDS).every(([key, ok]) => ok(raw[key]))

describe('snapshot manifest: the check without zod', () => {
  it('covers exactly the fields of the zod schema', () => {
    assert.deepEqual(Object.keys(MANIFEST_FIELDS).sort(), Object.keys(manifestSchema.shape).sort())
  })

  it('accepts and rejects what zod accepts and rejects, field by field', () => {
    assert.equal(quickCheck(valid), true)
    assert.equal(manifestSchema.safeParse(valid).success, true)
    let tried = 0
    for (const key of Object.keys(valid)) {
      for (const value of probes) {
        const raw: Record<string, unknown> = {...valid, [key]: value}
        if (value === undefined) delete raw[key]
        assert.equal(
          quickCheck(raw),
          manifestSchema.safeParse(raw).success,
          `${key} = ${JSON.stringify(value)}: the quick check and zod disagree`,
        )
        tried++
      }
    }
    assert.equal(tried, Object.keys(valid).length * probes.length)
  })

  it('parses a valid manifest without unknown keys, as zod does', async () => {
    const withExtra = {...valid, extra: 1, hashKV: {...valid.hashKV, extra: 2}}
    const parsed = await parseManifest(JSON.stringify(withExtra), 'm.json')
    assert.deepEqual(parsed, manifestSchema.parse(withExtra))
    assert.equal('extra' in parsed, false)
    const {hashKV: _, ...without} = valid
    assert.deepEqual(await parseManifest(JSON.stringify(without), 'm.json'), manifestSchema.parse(without))
  })

  it('says which field is wrong, and where', async () => {
    await assert.rejects(
      parseManifest(JSON.stringify({...valid, sha256: 'nope'}), '/snaps/x.manifest.json'),
      (e: Error) => {
        assert.match(e.message, /^\/snaps\/x\.manifest\.json: manifest is invalid: sha256: /)
        return true
      },
    )
    await assert.rejects(parseManifest('{"format":', 'm.json'), /m\.json: manifest is not valid JSON/)
    await assert.rejects(parseManifest('[]', 'm.json'), /m\.json: manifest is invalid/)
  })
})
