/** What a secret is, without the YAML parser: the config cache and the redacting renderers share it. */

export const REDACTED = '[REDACTED]'

/** Words in a key that mark its value as a secret (matched as whole words of the kebab-cased key). */
const SECRET_WORDS = /(^|-)(tokens?|passwords?|passwd|passphrase|secrets?|credentials?|key-data|api-key|apikey)(-|$)/
/** A key naming where a secret lives (a private key file, a token file) is not itself secret. */
const PATH_SUFFIX = /-(file|path|dir)$/
/** The password of a URL's userinfo: scheme://user:PASSWORD@host. */
const URL_PASSWORD = /\b([a-z][a-z0-9+.-]*:\/\/[^/\s:@]*):([^@/\s]*)@/gi

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

/** TEXT with the password of every URL in it (user:pass@host) replaced by REDACTED. */
export function redactUrlPasswords(text: string): string {
  return text.replaceAll(URL_PASSWORD, (_, head: string, pass: string) => (pass ? `${head}:${REDACTED}@` : `${head}:@`))
}

/** True when a secret-keyed value is set anywhere in VALUE, or a string in it holds a URL password. */
export function containsSecrets(value: unknown): boolean {
  if (typeof value === 'string') return redactUrlPasswords(value) !== value
  if (Array.isArray(value)) return value.some((v) => containsSecrets(v))
  if (value === null || typeof value !== 'object') return false
  return Object.entries(value).some(
    ([k, v]) => (isSecretKey(k) && v !== null && v !== undefined && v !== '') || containsSecrets(v),
  )
}
