import {type Config, run} from '@oclif/core'

/**
 * oclif's own help output for the root, every command (and alias) and every topic, rendered once at
 * build time (scripts/render-help.mjs for the npm path, the executable's bundle for itself) so that
 * bin/fast-path.js can answer `--help`, `-h`, `help …` and `--version` without loading oclif or any
 * command module. Rendered plain (no colour) at oclif's width for a non-terminal stdout (80 columns):
 * the renderer's environment must set OCLIF_COLUMNS=80 and NO_COLOR=1 before @oclif/core loads.
 */
export interface HelpTexts {
  /** `NAME/VERSION`: the running platform, arch and Node complete oclif's user agent. */
  nameVersion: string
  /** The user agent as rendered into the texts (root help's VERSION), replaced by the running one. */
  userAgent: string
  /** Key: a command id, alias or topic with ":" between words; "" is the root. */
  texts: Record<string, string>
  /** Keys that are topics and no command: a bare `plasmactl TOPIC` shows their help. */
  topicsOnly: string[]
}

/** Everything `fn` writes to stdout while it runs, instead of writing it. */
async function captureStdout(fn: () => Promise<unknown>): Promise<string> {
  const chunks: string[] = []
  const write = process.stdout.write
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'))
    return true
  }) as typeof process.stdout.write
  try {
    await fn()
  } finally {
    process.stdout.write = write
  }
  return chunks.join('')
}

/** What oclif prints to stdout for `plasmactl ARGV…` with this config (help and version only: no command runs). */
export async function oclifOutput(config: Config, argv: string[]): Promise<string> {
  // oclif's help writes ids with the topic separator into the config's commands and topics (harmless
  // in a process that shows one help): each rendering starts from the ids as they were.
  const commands = config.commands.map((c) => [c, c.id] as const)
  const topics = config.topics.map((t) => [t, t.name] as const)
  try {
    return await captureStdout(() => run(argv, config))
  } finally {
    for (const [c, id] of commands) c.id = id
    for (const [t, name] of topics) t.name = name
  }
}

/** The ids help can be asked for ("" for the root, ":" between words), and which are topics alone. */
export function helpKeys(config: Config): {keys: string[]; topicsOnly: string[]} {
  const commandIds = new Set(config.commands.flatMap((c) => [c.id, ...c.aliases]))
  const topicIds = new Set(config.topics.map((t) => t.name))
  return {
    keys: [...new Set(['', ...commandIds, ...topicIds])].sort(),
    topicsOnly: [...topicIds].filter((t) => !commandIds.has(t)).sort(),
  }
}

/** Each text is what oclif itself prints for `plasmactl WORDS… --help` with this config. */
export async function renderHelpTexts(config: Config): Promise<HelpTexts> {
  const {keys, topicsOnly} = helpKeys(config)
  const texts: Record<string, string> = {}
  for (const key of keys) texts[key] = await oclifOutput(config, [...(key === '' ? [] : key.split(':')), '--help'])
  return {
    nameVersion: `${config.name}/${config.version}`,
    userAgent: config.userAgent,
    texts,
    topicsOnly,
  }
}
