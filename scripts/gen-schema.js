#!/usr/bin/env node
// Writes schemas/config.schema.json from the zod schema (run by scripts/build.sh after tsc), so editors
// can validate and autocomplete config files via `# yaml-language-server: $schema=...`.
// `--check` fails (exit 1) when the committed file is stale instead of writing it.
import {readFile, writeFile} from 'node:fs/promises'
import {fileURLToPath} from 'node:url'
import {z} from 'zod'

const root = new URL('../', import.meta.url)

/** `type: [a, b]` → `anyOf`, so the schemas compile in ajv's strict mode (strictTypes) as well as in editors. */
function strictTypes(node) {
  if (Array.isArray(node)) return node.map(strictTypes)
  if (!node || typeof node !== 'object') return node
  const out = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, strictTypes(v)]))
  if (Array.isArray(out.type)) {
    const {type, ...rest} = out
    return {...rest, anyOf: type.map((t) => ({type: t}))}
  }
  return out
}
const {configSchema} = await import(new URL('dist/config/schema.js', root).href)
const out = fileURLToPath(new URL('schemas/config.schema.json', root))

// io: 'input' describes the file as written: keys with defaults (roles, nodes, contexts) are optional.
// draft-7: the newest draft yaml-language-server (VS Code, Neovim) fully supports.
const schema = strictTypes(z.toJSONSchema(configSchema, {io: 'input', target: 'draft-7'}))
const text = `${JSON.stringify(
  {
    ...schema,
    title: 'plasmactl config',
    description: 'Contexts (clusters), their nodes, SSH and ChainFire settings. Generated from src/config/schema.ts: do not edit.',
  },
  null,
  2,
)}\n`

if (process.argv.includes('--check')) {
  const current = await readFile(out, 'utf8').catch(() => '')
  if (current !== text) {
    console.error(`${out} is stale: run \`npm run build\` and commit it`)
    process.exitCode = 1
  }
} else {
  await writeFile(out, text)
}

// The runbook format (src/runbook/schema.ts) → schemas/runbook.schema.json, same rules.
{
  const {runbookSchema} = await import(new URL('dist/runbook/schema.js', root).href)
  const rbOut = fileURLToPath(new URL('schemas/runbook.schema.json', root))
  const rbText = `${JSON.stringify({...strictTypes(z.toJSONSchema(runbookSchema, {io: 'input', target: 'draft-7'})), title: 'plasmactl runbook', description: 'A recovery runbook (docs/runbooks.md). Generated from src/runbook/schema.ts: do not edit.'}, null, 2)}\n`
  if (process.argv.includes('--check')) {
    if ((await readFile(rbOut, 'utf8').catch(() => '')) !== rbText) {
      console.error(`${rbOut} is stale: run \`npm run build\` and commit it`)
      process.exitCode = 1
    }
  } else await writeFile(rbOut, rbText)
}
