#!/bin/sh
':' //; case " $* " in *" snapshot "*) exec node --max-semi-space-size=1 "$0" "$@" ;; *) exec node "$0" "$@" ;; esac
// The line above is for the shell (this file is both a shell script and an ES module): snapshot
// commands stream hundreds of MiB through short-lived buffers, and a 1 MiB young generation keeps
// their peak RSS ~40 MiB lower at no cost in throughput; other commands start faster without it.
// `node bin/run.js` skips it (Node ignores the first line and the string statement).
import module from 'node:module'

// Node 22.1+: cache compiled code of plasmactl and its dependencies between runs (faster cold start).
module.enableCompileCache?.()

const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
