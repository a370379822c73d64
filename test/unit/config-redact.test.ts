import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseDocument} from 'yaml'
import {isSecretKey, REDACTED, redactDocument, redactSecrets} from '../../src/services/config/redact.js'

describe('redaction rule', () => {
  for (const key of [
    'token',
    'bearerToken',
    'auth-token',
    'password',
    'db_password',
    'passphrase',
    'secret',
    'client-secret',
    'secretAccessKey',
    'client-key-data',
    'key-data',
    'api-key',
    'credentials',
  ]) {
    it(`"${key}" is secret`, () => assert.equal(isSecretKey(key), true))
  }
  for (const key of [
    'key',
    'identity-file',
    'private-key-file',
    'token-file',
    'password-path',
    'cert',
    'ca',
    'known-hosts',
    'name',
    'address',
    'keyboard',
    'monkey',
    'secretary',
  ]) {
    it(`"${key}" is not secret`, () => assert.equal(isSecretKey(key), false))
  }
})

describe('redactSecrets', () => {
  it('replaces secret values at any depth and keeps everything else', () => {
    const input = {
      contexts: [
        {
          name: 'prod',
          tls: {key: '/etc/pki/client-key.pem', 'client-key-data': 'LS0tLS1CRUdJTi'},
          iam: {token: 'eyJhbGci', 'token-file': '/run/iam/token'},
        },
      ],
      ssh: {'identity-file': '~/.ssh/id_ed25519', password: 'hunter2'},
      empty: {password: ''},
    }
    const out = redactSecrets(input)
    assert.deepEqual(out, {
      contexts: [
        {
          name: 'prod',
          tls: {key: '/etc/pki/client-key.pem', 'client-key-data': REDACTED},
          iam: {token: REDACTED, 'token-file': '/run/iam/token'},
        },
      ],
      ssh: {'identity-file': '~/.ssh/id_ed25519', password: REDACTED},
      empty: {password: ''},
    })
    // The input is not modified.
    assert.equal(input.ssh.password, 'hunter2')
  })

  it('redacts a secret that holds a structure, not just a string', () => {
    assert.deepEqual(redactSecrets({secret: {a: 1}}), {secret: REDACTED})
  })
})

describe('redactDocument', () => {
  it('redacts in the YAML document and keeps comments', () => {
    const doc = parseDocument(
      '# top comment\nuser: ops\npassword: hunter2 # the old one\nnested:\n  api-key: abc\n  key: /etc/k.pem\n',
    )
    const text = redactDocument(doc).toString()
    assert.doesNotMatch(text, /hunter2|abc/)
    assert.match(text, /# top comment/)
    assert.match(text, /password: "\[REDACTED\]" # the old one/)
    assert.match(text, /key: \/etc\/k.pem/)
  })
})

describe('URL passwords', () => {
  it('are redacted in strings at any depth, user names and hosts kept', async () => {
    const {containsSecrets, redactUrlPasswords} = await import('../../src/config/secrets.js')
    assert.equal(redactUrlPasswords('http://op:hunter2@10.0.0.1:2379'), `http://op:${REDACTED}@10.0.0.1:2379`)
    assert.equal(
      redactUrlPasswords('a https://x:y@h/p and s3://k:s@b'),
      `a https://x:${REDACTED}@h/p and s3://k:${REDACTED}@b`,
    )
    assert.equal(redactUrlPasswords('http://op@h:1/a:b@c'), 'http://op@h:1/a:b@c')
    assert.deepEqual(redactSecrets({endpoints: ['http://u:p@h']}), {endpoints: [`http://u:${REDACTED}@h`]})
    assert.equal(containsSecrets({iam: {url: 'https://iam', token: 't'}}), true)
    assert.equal(containsSecrets({endpoints: ['http://u:p@h']}), true)
    assert.equal(
      containsSecrets({iam: {url: 'https://iam'}, ssh: {'identity-file': '~/.ssh/id'}, empty: {password: ''}}),
      false,
    )
  })
})
