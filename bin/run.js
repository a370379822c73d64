#!/bin/sh
':' //; case " $* " in *" snapshot "*) exec node --max-semi-space-size=1 "$0" "$@" ;; *) exec node "$0" "$@" ;; esac
// The line above is for the shell (this file is both a shell script and an ES module): snapshot
// commands stream hundreds of MiB, and a 1 MiB young generation keeps their peak RSS a few MiB
// lower (a 630 MiB verify: 66 against 71 MiB; what bounds it is the streams' own handling, see
// docs/snapshot-performance.md); other commands start faster without it.
// `node bin/run.js` skips it (Node ignores the first line and the string statement).
import {readFileSync} from 'node:fs'
import module from 'node:module'
import {exitWhenDone} from './exit-when-done.js'
import {fastOutput} from './fast-path.js'

// Node 22.1+: cache compiled code of plasmactl and its dependencies between runs (faster cold start).
module.enableCompileCache?.()

// @oclif/core checks its own `engines` range with semver on every start (~15 ms of a cold start);
// plasmactl checks its own range (package.json `engines.node`, kept equal by a unit test) without it.
const MIN_NODE = [20, 17]
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < MIN_NODE[0] || (major === MIN_NODE[0] && minor < MIN_NODE[1])) {
  process.emitWarning(`plasmactl needs Node.js ${MIN_NODE.join('.')} or newer; this is ${process.versions.node}`)
}
process.env.OCLIF_DISABLE_ENGINE_WARNING ??= '1'

// --help, --version and the like: oclif's output rendered at build time (dist/help.json), served
// without loading oclif (bin/fast-path.js); anything else goes to oclif.
const fast = fastOutput(process.argv.slice(2), () =>
  JSON.parse(readFileSync(new URL('../dist/help.json', import.meta.url), 'utf8')),
)
if (fast === undefined) {
  // A plain `health` without oclif (src/fast/health.ts); anything else, or any error, oclif runs.
  const argv = process.argv.slice(2)
  const done = argv[0] === 'health' && (await (await import('../dist/fast/health.js')).runFastHealth(argv))
  if (!done) {
    const {execute} = await import('@oclif/core')
    await execute({dir: import.meta.url})
  }
  exitWhenDone()
} else process.stdout.write(fast)
