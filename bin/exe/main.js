// Entry point of the single executable dist/plasmactl (bundled by scripts/build-exe.mjs into a Node
// single-executable application). The CLI's code is inside the executable; the files it reads or
// hands to other programs by path (templates, runbooks, schemas, the oclif manifest and
// package.json) are an asset of the executable, written once per build into a cache directory
// named after their hash, which then serves as the package root.
import {existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {homedir, tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {modules} from 'plasmactl:modules'
import {exitWhenDone} from '../exit-when-done.js'

/* eslint-disable no-undef -- __PLASMACTL_ROOT_HASH__ is set by esbuild (define); __plasmactlAsset (the
   SEA's getAsset) is a parameter of the function bin/exe/boot.cjs wraps the bundle in. */
const ROOT_HASH = __PLASMACTL_ROOT_HASH__
const getAsset = (name) => __plasmactlAsset(name)
/* eslint-enable no-undef */

function cacheBases() {
  const bases = []
  if (process.env.XDG_CACHE_HOME) bases.push(join(process.env.XDG_CACHE_HOME, 'plasmactl'))
  const home = process.env.HOME || safeHomedir()
  if (home) bases.push(join(home, '.cache', 'plasmactl'))
  bases.push(join(tmpdir(), `plasmactl-${process.getuid?.() ?? 'user'}`))
  return bases
}

function safeHomedir() {
  try {
    return homedir()
  } catch {
    return undefined
  }
}

/** Writes the root files into base/exe-HASH (atomically: a temp dir renamed into place). */
function extract(base, root) {
  mkdirSync(base, {recursive: true, mode: 0o700})
  const tmp = mkdtempSync(join(base, '.extract-'))
  try {
    const {files} = JSON.parse(getAsset('root.json').toString('utf8'))
    for (const [rel, text] of Object.entries(files)) {
      mkdirSync(dirname(join(tmp, rel)), {recursive: true})
      writeFileSync(join(tmp, rel), text)
    }
    renameSync(tmp, root)
  } catch (error) {
    rmSync(tmp, {recursive: true, force: true})
    // Another plasmactl extracted the same files first: theirs are as good as ours.
    if (!existsSync(join(root, 'package.json'))) throw error
  }
}

/** The package root: the extracted files of this build (extracted on the first run of each build). */
function packageRoot() {
  let lastError
  for (const base of cacheBases()) {
    const root = join(base, `exe-${ROOT_HASH}`)
    if (existsSync(join(root, 'package.json'))) return root
    try {
      extract(base, root)
      return root
    } catch (error) {
      lastError = error
    }
  }
  throw new Error(`plasmactl: cannot write its files to a cache directory (set XDG_CACHE_HOME): ${lastError?.message}`)
}

async function main() {
  const root = packageRoot()
  globalThis.__plasmactlRoot = root
  // Building the executable (scripts/build-exe.mjs): the help texts of bin/fast-path.js, rendered by
  // this bundle's oclif with its config (no plugins), then the code cache: the common paths run once
  // each, output muted.
  const helpOut = process.env.PLASMACTL_EXE_HELP_OUT
  if (helpOut) {
    const {Config} = await import('@oclif/core')
    const {renderHelpTexts} = await import('../../dist/output/help-texts.js')
    writeFileSync(helpOut, JSON.stringify(await renderHelpTexts(await Config.load({root}))))
  }
  const warmup = process.env.PLASMACTL_EXE_WARMUP
  if (warmup) {
    const write = process.stdout.write
    process.stdout.write = () => true
    for (const args of JSON.parse(warmup)) await run(args, root)
    process.stdout.write = write
    return
  }
  await run(process.argv.slice(2), root)
  exitWhenDone()
}

/** A plain `health` without oclif (src/fast/health.ts, the code cache warmed on it); anything else, oclif. */
async function run(args, root) {
  if (args[0] === 'health' && (await (await import('../../dist/fast/health.js')).runFastHealth(args))) return
  const {execute} = await import('@oclif/core')
  await execute({args, loadOptions: {root}})
}

function start() {
  main().catch((error) => {
    process.stderr.write(`${error.message}\n`)
    process.exitCode = 1
  })
}

// Inside a startup snapshot (scripts/build-exe.mjs, bin/exe/snapshot.cjs): the modules are loaded
// while the snapshot is built; the run starts when the executable starts.
const snapshot = globalThis.__plasmactlSnapshot
if (snapshot) {
  for (const id of snapshot.preload ?? []) void modules['dist/index.js']().COMMANDS[id]
  snapshot.main = start
} else start()
