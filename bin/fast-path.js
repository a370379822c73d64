// Answers `--version`, `version`, `--help`, `-h`, `help [TOPIC|COMMAND]`, `TOPIC` and `COMMAND --help`
// from help texts rendered by oclif at build time (src/output/help-texts.ts: dist/help.json for the npm
// path, an asset of the single executable), without loading oclif or any command module. Only what
// oclif would print the same way is answered here: plain output at its non-terminal width (80 columns),
// an exact topic or command, no other flags; anything else returns undefined and oclif runs.
// Used by bin/run.js and bin/exe/boot.cjs; test/unit/fast-path.test.ts compares it with oclif.
import {release} from 'node:os'
import {isatty} from 'node:tty'

const HELP_FLAGS = new Set(['--help', '-h'])

/** Environment that makes oclif's colour library (ansis) colour a non-terminal stdout, or changes the width. */
function plainAt80(env) {
  if (isatty(1)) return false
  if (env.OCLIF_COLUMNS !== undefined && Number.parseInt(env.OCLIF_COLUMNS, 10) !== 80) return false
  if (env.NO_COLOR) return true
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return false
  for (const name of ['COLORTERM', 'TF_BUILD', 'CI', 'PM2_HOME', 'NEXT_RUNTIME'])
    if (env[name] !== undefined) return false
  return !Object.keys(env).some((name) => name.startsWith('TEAMCI'))
}

/** oclif's user agent (`plasmactl/0.1.0 linux-x64 node-v20.20.2`); undefined on WSL (oclif says "wsl"). */
function userAgent(nameVersion) {
  if (process.platform === 'linux' && /microsoft/i.test(release())) return undefined
  return `${nameVersion} ${process.platform}-${process.arch} node-${process.version}`
}

/** The help key for argv, if argv asks for help the pre-rendered texts can give: a key of texts, or undefined. */
function helpKey(argv, data) {
  const words = argv.filter((a) => !HELP_FLAGS.has(a))
  if (words.some((w) => w.startsWith('-'))) return undefined
  let key
  if (argv.length === 0) key = ''
  else if (words.length < argv.length) key = words.join(':')
  else if (argv[0] === 'help') key = words.slice(1).join(':')
  else if (data.topicsOnly.includes(argv.join(':'))) key = argv.join(':')
  return key !== undefined && Object.hasOwn(data.texts, key) ? key : undefined
}

/**
 * What plasmactl prints for argv, when the pre-rendered texts can answer it; else undefined.
 * load() returns the texts (src/output/help-texts.ts HelpTexts), or undefined if there are none.
 */
export function fastOutput(argv, load, env = process.env) {
  const version = argv[0] === '--version' || (argv.length === 1 && argv[0] === 'version')
  // A bare topic (`plasmactl vm`) too: only the texts know the topics.
  const help = !version && (argv.some((a) => HELP_FLAGS.has(a)) || argv.every((a) => !a.startsWith('-')))
  if (!version && !(help && plainAt80(env))) return undefined
  if (help && argv.includes('--')) return undefined
  let data
  try {
    data = load()
  } catch {
    return undefined
  }
  const ua = data && userAgent(data.nameVersion)
  if (!ua) return undefined
  if (version) return `${ua}\n`
  const key = helpKey(argv, data)
  return key === undefined ? undefined : data.texts[key].replaceAll(data.userAgent, ua)
}
