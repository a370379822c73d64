import type {Hook} from '@oclif/core'
import {setExitCode, UsageError} from '../errors.js'
import {errorEnvelope} from '../output/envelope.js'
import {editDistance} from '../suggest.js'
import {compareText} from '../core/compare.js'

export {editDistance} from '../suggest.js'

/**
 * The closest known command ids and topics to what was typed (ids use ":" between words). The typed id
 * is cut to the candidate's word count, so trailing arguments (`config use-contxt prod`) don't count.
 */
export function suggestCommands(typed: string, candidates: string[], max = 3): string[] {
  const words = typed.split(':')
  const scored = [...new Set(candidates)]
    .map((c) => {
      const prefix = words.slice(0, c.split(':').length).join(':')
      const d = editDistance(prefix, c)
      return {c, d, ok: d <= Math.max(2, Math.floor(c.length / 3))}
    })
    .filter((s) => s.ok)
    .sort((x, y) => x.d - y.d || compareText(x.c, y.c))
  // An exact prefix (the topic of `chainfire memberz`) is only the fallback: prefer a near full match.
  const near = scored.filter((s) => s.d > 0)
  const pool = near.length > 0 ? near : scored
  const best = pool[0]?.d ?? 0
  return pool
    .filter((s) => s.d <= best + 1)
    .slice(0, max)
    .map((s) => s.c)
}

/**
 * Unknown command: suggest the nearest commands/topics on stderr (or the JSON error envelope on stdout
 * with --json) and exit 2 (bad usage), through the one exit-code table.
 */
const hook: Hook.CommandNotFound = async function (opts) {
  const {config} = opts
  const sep = config.topicSeparator ?? ' '
  const show = (id: string) => id.replaceAll(':', sep)
  const visible = config.commands.filter((c) => !c.hidden)
  const candidates = [
    ...visible.flatMap((c) => [c.id, ...c.aliases]),
    ...config.topics.filter((t) => !t.hidden).map((t) => t.name),
  ]
  const suggestions = suggestCommands(opts.id, candidates).map((s) => show(s))
  const typed = show(opts.id)
  const hint =
    suggestions.length > 0
      ? `did you mean ${suggestions.map((s) => `\`${config.bin} ${s}\``).join(' or ')}?`
      : `run \`${config.bin} --help\` for the list of commands`
  setExitCode('USAGE')
  if (opts.argv?.includes('--json') || process.argv.includes('--json')) {
    const envelope = errorEnvelope(new UsageError(`"${typed}" is not a ${config.bin} command`, {hint, suggestions}))
    process.stdout.write(`${JSON.stringify(envelope, null, 2)}\n`)
    return
  }
  process.stderr.write(`${config.bin}: error: "${typed}" is not a ${config.bin} command\nhint: ${hint}\n`)
}

export default hook
