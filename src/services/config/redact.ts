import {type Document, isNode, isPair, isScalar, Scalar, visit} from 'yaml'

export const REDACTED = '[REDACTED]'

/** Words in a key that mark its value as a secret (matched as whole words of the kebab-cased key). */
const SECRET_WORDS = /(^|-)(tokens?|passwords?|passwd|passphrase|secrets?|credentials?|key-data|api-key|apikey)(-|$)/
/** A key naming where a secret lives (a private key file, a token file) is not itself secret. */
const PATH_SUFFIX = /-(file|path|dir)$/

/**
 * The redaction rule: a key is secret when it is named like token, password, secret or key-data
 * ("client-key-data", "bearerToken", "secret_access_key"), unless it names a path ("identity-file",
 * "token-file", tls "key"): private key paths are not secrets.
 */
export function isSecretKey(key: string): boolean {
  const kebab = key
    .replaceAll(/([a-z0-9])([A-Z])/g, '$1-$2')
    .toLowerCase()
    .replaceAll(/[\s._]+/g, '-')
  if (PATH_SUFFIX.test(kebab)) return false
  return SECRET_WORDS.test(kebab)
}

/** A deep copy of VALUE with every secret-keyed value (that is set) replaced by REDACTED. */
export function redactSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v)) as T
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    out[k] = isSecretKey(k) && v !== null && v !== undefined && v !== '' ? REDACTED : redactSecrets(v)
  }
  return out as T
}

/** Redacts a parsed YAML document in place, keeping its comments and layout. */
export function redactDocument(doc: Document): Document {
  visit(doc, {
    Pair(_, pair) {
      if (!isPair(pair) || !isScalar(pair.key) || typeof pair.key.value !== 'string') return
      if (!isSecretKey(pair.key.value)) return
      if (pair.value === null || pair.value === undefined) return
      if (isScalar(pair.value) && (pair.value.value === null || pair.value.value === '')) return
      const scalar = new Scalar(REDACTED)
      if (isNode(pair.value)) scalar.comment = pair.value.comment
      pair.value = scalar
      return visit.SKIP
    },
  })
  return doc
}
