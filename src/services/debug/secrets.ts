import {isSecretKey, REDACTED, redactUrlPasswords} from '../../config/secrets.js'

/** Keys whose values are credentials although their names do not say "secret" (an S3 access key id). */
const ALSO_SECRET = /^(access-key-id|accessKeyId|aws-access-key-id)$/
/** Shorter values are not redacted by value: replacing "ab" everywhere would say nothing and break the text. */
const MIN_LENGTH = 6
const PRIVATE_KEY_BLOCK = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g
const URL_PASSWORD = /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:([^@/\s]+)@/gi

/** Every secret value in VALUE: secret-keyed strings, access key ids and URL passwords, longest first. */
export function secretValues(value: unknown, extra: (string | undefined)[] = []): {values: string[]; tooShort: number} {
  const found = new Set<string>()
  const walk = (v: unknown, key?: string): void => {
    if (typeof v === 'string') {
      if (key && (isSecretKey(key) || ALSO_SECRET.test(key))) found.add(v)
      for (const m of v.matchAll(URL_PASSWORD)) found.add(decodeURIComponent(m[1]))
    } else if (Array.isArray(v)) for (const x of v) walk(x, key)
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k)
  }
  walk(value)
  for (const e of extra) if (e) found.add(e.trim())
  const all = [...found].filter(Boolean)
  const values = all.filter((s) => s.length >= MIN_LENGTH).sort((a, b) => b.length - a.length)
  return {values, tooShort: all.length - values.length}
}

/** TEXT with every known secret value, every URL password and every PEM private key replaced by REDACTED. */
export function redactText(text: string, secrets: readonly string[]): {text: string; count: number} {
  let count = 0
  let out = text.replaceAll(PRIVATE_KEY_BLOCK, () => {
    count++
    return REDACTED
  })
  for (const s of secrets) {
    // Also the forms a secret takes when a log or a JSON dump quotes it.
    for (const form of new Set([s, JSON.stringify(s).slice(1, -1), encodeURIComponent(s)])) {
      const parts = out.split(form)
      count += parts.length - 1
      out = parts.join(REDACTED)
    }
  }
  const url = redactUrlPasswords(out)
  if (url !== out) count++
  return {text: url, count}
}
