import type {BundleResult} from '../services/debug/bundle.js'

/** The human summary of a support bundle: where it is, what is in it, what could not be collected. */
export function renderBundle(r: BundleResult): string {
  const collected = r.nodes.filter((n) => n.collected).length
  const lines = [
    `wrote ${r.path} (${r.files.length + 1} files, ${r.bytes} bytes, context ${r.context}, since ${r.since})`,
    `nodes: ${collected}/${r.nodes.length} collected over SSH`,
    `redacted: ${r.redaction.replaced} occurrence(s) of ${r.redaction.secretsKnown} known secret value(s), config-view key redaction applied`,
  ]
  if (r.redaction.tooShortToRedactByValue > 0)
    lines.push(
      `note: ${r.redaction.tooShortToRedactByValue} secret value(s) too short to redact by value (key-based redaction still applies)`,
    )
  if (r.notes.length > 0) {
    lines.push('', `not collected (${r.notes.length}; recorded in manifest.json):`)
    for (const n of r.notes) lines.push(`  - ${n.source}${n.node ? ` [${n.node}]` : ''}: ${n.message}`)
  }
  lines.push('', 'Review it before sending: secrets the context does not know (in logs) are not redacted by value.')
  return lines.join('\n')
}
