import {constants} from 'node:fs'
import {access, readFile, stat} from 'node:fs/promises'
import {configPath} from '../../config/context.js'
import type {LoadedConfig} from '../../config/load.js'
import type {Config, Context} from '../../config/schema.js'

/** A local file the config names: SSH key, known_hosts, SSH config, TLS CA/cert/key. */
export interface FileRef {
  /** YAML path of the setting, e.g. ['contexts', 0, 'ssh', 'identity-file']. */
  path: PropertyKey[]
  /** The setting as written, e.g. "ssh.identity-file". */
  setting: string
  value: string
  /** known_hosts may be missing (it is created on accept-new); everything else must be readable. */
  optional: boolean
}

const SSH_FILES = ['identity-file', 'known-hosts', 'config-file'] as const
const TLS_FILES = ['ca', 'cert', 'key'] as const
const TLS_SECTIONS = ['chainfire', 'flaredb', 'iam', 'prismnet'] as const

/** Every local file context I of CONFIG refers to, with where the setting is. */
export function referencedFiles(config: Config, i: number): FileRef[] {
  const ctx: Context = config.contexts[i]
  const out: FileRef[] = []
  const ssh = (base: PropertyKey[], s: Context['ssh']) => {
    for (const k of SSH_FILES) {
      const v = s?.[k]
      if (v && v !== 'none')
        out.push({path: [...base, 'ssh', k], setting: `ssh.${k}`, value: v, optional: k === 'known-hosts'})
    }
  }
  ssh(['contexts', i], ctx.ssh)
  ctx.nodes.forEach((n, j) => {
    if (!n.removed) ssh(['contexts', i, 'nodes', j], n.ssh)
  })
  for (const section of TLS_SECTIONS) {
    const tls = ctx[section]?.tls
    for (const k of TLS_FILES) {
      const v = tls?.[k]
      if (v)
        out.push({path: ['contexts', i, section, 'tls', k], setting: `${section}.tls.${k}`, value: v, optional: false})
    }
  }
  return out
}

/** Why a referenced file cannot be used, or undefined when it can. */
export async function fileProblem(abs: string, optional: boolean): Promise<string | undefined> {
  try {
    if ((await stat(abs)).isDirectory()) return `${abs} is a directory`
    await access(abs, constants.R_OK)
    return undefined
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return optional ? undefined : `${abs} does not exist`
    if (code === 'EACCES') return `${abs} is not readable by this user`
    return `${abs}: ${(error as Error).message}`
  }
}

/**
 * "config.yaml:12" of the setting that names FILE in the context, when one does: a local problem
 * then points at the line to fix. Reads the config again with its document (only on that path).
 */
export async function configLineOf(
  loaded: LoadedConfig,
  ctx: Context,
  file: string | undefined,
): Promise<string | undefined> {
  if (!file) return undefined
  const i = loaded.config.contexts.findIndex((c) => c.name === ctx.name)
  const ref = i < 0 ? undefined : referencedFiles(loaded.config, i).find((r) => configPath(loaded, r.value) === file)
  if (!ref) return undefined
  try {
    const {LineCounter, parseDocument} = await import('yaml')
    const {locate} = await import('../../config/validate.js')
    const lineCounter = new LineCounter()
    const doc = parseDocument(await readFile(loaded.path, 'utf8'), {lineCounter})
    const offset = locate(doc, ref.path)
    return `${loaded.path}:${offset === undefined ? 1 : lineCounter.linePos(offset).line} (${ref.setting})`
  } catch {
    return `${loaded.path} (${ref.setting})`
  }
}
