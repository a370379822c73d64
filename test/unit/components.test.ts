import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {
  decodeHealthRequest,
  decodeHealthResponse,
  encodeHealthRequest,
  encodeHealthResponse,
} from '../../src/adapters/grpc-health/index.js'
import {JsonStreamSplitter, ovsdbOptional, parseRemote} from '../../src/adapters/ovsdb/index.js'
import {withRetry} from '../../src/core/retry.js'
import {decodeJwt, parseJwks, tokenFindings, tokenInfo} from '../../src/services/auth/index.js'
import {parseRegionRecord, parseStoreRecord, regionStatus} from '../../src/services/flaredb/index.js'

describe('OVSDB stream and values', () => {
  it('splits concatenated JSON texts across chunk boundaries, strings with braces included', () => {
    const s = new JsonStreamSplitter()
    const a = JSON.stringify({id: 1, result: ['a}', '{b"']})
    const b = JSON.stringify({method: 'echo', params: [], id: 'echo'})
    const whole = a + b
    const out: string[] = []
    for (let i = 0; i < whole.length; i += 7) out.push(...s.push(whole.slice(i, i + 7)))
    assert.deepEqual(
      out.map((x) => JSON.parse(x)),
      [JSON.parse(a), JSON.parse(b)],
    )
  })
  it('parses remotes and optional columns', () => {
    assert.deepEqual(parseRemote('tcp:127.0.0.1:6641'), {
      url: 'tcp:127.0.0.1:6641',
      protocol: 'tcp',
      host: '127.0.0.1',
      port: 6641,
    })
    assert.equal(parseRemote('ssl:[::1]:6641').host, '::1')
    assert.throws(() => parseRemote('http://x:1'), /tcp:HOST:PORT/)
    assert.equal(ovsdbOptional(['set', []]), null)
    assert.equal(ovsdbOptional(['uuid', 'abc']), 'abc')
    assert.equal(ovsdbOptional(7), 7)
  })
})

describe('gRPC health codec', () => {
  it('round-trips the two messages', () => {
    assert.equal(encodeHealthRequest('').length, 0)
    assert.equal(decodeHealthRequest(encodeHealthRequest('flaredb.Store')).service, 'flaredb.Store')
    assert.equal(decodeHealthResponse(encodeHealthResponse('SERVING')).status, 'SERVING')
    assert.equal(decodeHealthResponse(encodeHealthResponse('NOT_SERVING')).status, 'NOT_SERVING')
    assert.equal(decodeHealthResponse(Buffer.alloc(0)).status, 'UNKNOWN')
  })
})

describe('FlareDB records and replication', () => {
  it('reports what is wrong with a record, naming nothing else', () => {
    assert.match((parseStoreRecord('/flaredb/stores/1', '{') as {error: string}).error, /not JSON/)
    assert.match(
      (parseStoreRecord('/flaredb/stores/1', '{"state":"up"}') as {error: string}).error,
      /address, lastHeartbeat/,
    )
    assert.match(
      (
        parseStoreRecord(
          '/flaredb/stores/1',
          '{"id":"2","address":"a:1","state":"up","lastHeartbeat":"2026-01-01T00:00:00Z"}',
        ) as {error: string}
      ).error,
      /does not match/,
    )
    assert.equal(
      (
        parseStoreRecord(
          '/flaredb/stores/1',
          '{"address":"a:1","state":"up","lastHeartbeat":"2026-01-01T00:00:00Z"}',
        ) as {id: string}
      ).id,
      '1',
    )
    assert.deepEqual(
      (parseRegionRecord('/flaredb/regions/5', '{"replicas":[1,2,3]}') as {replicas: string[]}).replicas,
      ['1', '2', '3'],
    )
    assert.match((parseRegionRecord('/flaredb/regions/5', '{"replicas":[]}') as {error: string}).error, /replicas/)
  })
  it('warns below 3 live replicas and is critical when a majority is lost', () => {
    assert.equal(regionStatus(3, 3), 'ok')
    assert.equal(regionStatus(3, 2), 'warn')
    assert.equal(regionStatus(3, 1), 'crit')
    assert.equal(regionStatus(5, 3), 'ok')
    assert.equal(regionStatus(5, 2), 'crit')
    assert.equal(regionStatus(4, 3), 'ok')
    assert.equal(regionStatus(4, 2), 'crit')
  })
})

describe('credentials', () => {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  it('decodes a JWT without trusting it and warns before expiry', () => {
    const now = Date.now()
    const token = `${b64({alg: 'RS256', kid: 'k'})}.${b64({sub: 'me', exp: Math.floor(now / 1000) + 1800})}.sig`
    assert.equal(decodeJwt(token)?.payload.sub, 'me')
    assert.equal(decodeJwt('opaque'), undefined)
    const info = tokenInfo({token, source: 'env'}, now)
    assert.equal(info.keyId, 'k')
    assert.equal(tokenFindings(info)[0].status, 'warn')
    assert.equal(tokenFindings(tokenInfo({token, source: 'env'}, now + 3_600_000))[0].status, 'crit')
  })
  it('imports every JWKS key and flags the unusable ones', () => {
    const keys = parseJwks({keys: [{kty: 'RSA', kid: 'bad', n: 'AQAB'}]})
    assert.equal(keys[0].valid, false)
    assert.throws(() => parseJwks({}), /keys/)
  })
})

describe('retry', () => {
  it('retries transient failures only, with backoff', async () => {
    let calls = 0
    const v = await withRetry(
      async () => {
        if (++calls < 3) throw new Error('transient')
        return 'ok'
      },
      {retries: 3, baseMs: 1, isTransient: () => true},
    )
    assert.equal(v, 'ok')
    assert.equal(calls, 3)
    calls = 0
    await assert.rejects(
      withRetry(
        async () => {
          calls++
          throw new Error('refused')
        },
        {retries: 3, baseMs: 1, isTransient: () => false},
      ),
      /refused/,
    )
    assert.equal(calls, 1)
  })
})
