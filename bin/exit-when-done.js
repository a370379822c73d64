// Once a command has finished and Node's event loop is empty, Node frees its environment and heap
// piece by piece before the process ends. Nothing is left to run at that point, so the process exits
// at once with the same code: the 'exit' listeners registered after this one run first, then
// process.exit skips the teardown. Called after oclif's execute() resolves (bin/run.js,
// bin/exe/main.js); a command that is still working (a watch, a stream) keeps the loop busy as before.
import module from 'node:module'

function onExit(code) {
  const listeners = process.listeners('exit')
  for (const listener of listeners.slice(listeners.indexOf(onExit) + 1)) listener.call(process, code)
  // Node 22's compile cache (bin/run.js enables it) is written at teardown: written here instead.
  module.flushCompileCache?.()
  // eslint-disable-next-line no-restricted-properties -- the code is already set; this skips teardown only
  process.exit(process.exitCode ?? code)
}

export function exitWhenDone() {
  process.on('exit', onExit)
}
