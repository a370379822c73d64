import {type Document, isNode, isPair, isScalar, Scalar, visit} from 'yaml'
import {isSecretKey, REDACTED, redactUrlPasswords} from '../../config/secrets.js'

export {isSecretKey, REDACTED} from '../../config/secrets.js'

/** A deep copy of VALUE with every secret-keyed value (that is set) and every URL password replaced by REDACTED. */
export function redactSecrets<T>(value: T): T {
  if (typeof value === 'string') return redactUrlPasswords(value) as T
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
    Scalar(_, node) {
      if (typeof node.value === 'string') node.value = redactUrlPasswords(node.value)
    },
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
