import {execFileSync, spawn} from 'node:child_process'
import {mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import {exitOf, type Lab, REPO_ROOT} from './lab.js'

/** A scratch directory next to the lab that the lab's SSH user can read and write (markers, runbooks, state). */
export async function workDir(lab: Lab): Promise<string> {
  const work = join(lab.dir, '..', 'work')
  await mkdir(work, {recursive: true, mode: 0o777})
  execFileSync('chmod', ['777', work])
  return work
}

/**
 * Runs the CLI on a pseudo-terminal (util-linux `script`, whose exit status is the command's, 128+N
 * for a signal N), typing each answer's keys once the output matches its pattern.
 */
export async function onTerminal(
  lab: Lab,
  args: string[],
  env: Record<string, string>,
  answers: {when: RegExp | (() => boolean); keys: string}[],
): Promise<{exitCode: number | null; out: string}> {
  const cmd = [process.execPath, join(REPO_ROOT, 'bin', 'run.js'), ...args]
    .map((a) => `'${a.replaceAll("'", `'\\''`)}'`)
    .join(' ')
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
    env: {...process.env, PLASMACTL_CONFIG: lab.configPath, TERM: 'xterm', ...env},
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let out = ''
  let seen = 0
  const pending = [...answers]
  const poll = () => {
    const next = pending[0]
    if (next && (typeof next.when === 'function' ? next.when() : next.when.test(out.slice(seen)))) {
      pending.shift()
      seen = out.length
      // Give the prompt a moment to take over the terminal's input before typing.
      setTimeout(() => child.stdin!.write(next.keys), 200)
    }
  }
  const timer = setInterval(poll, 100)
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')))
  child.stderr!.on('data', (d: Buffer) => (out += d.toString('utf8')))
  // Bounded (exitOf): a prompt that never comes fails the test instead of holding the run.
  const {code} = await exitOf(child)
  clearInterval(timer)
  child.stdin!.end()
  return {exitCode: code, out}
}
