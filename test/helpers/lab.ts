/**
 * The lab fixture of the integration tests: starts a real lab (sshd + ChainFire member per node) by
 * running the real CLI, in its own temp dir, config file and loopback /24, so labs of parallel test
 * files never collide. Assumes `npm run build` ran (runs bin/run.js, i.e. dist/), or runs the
 * executable named by PLASMACTL_BIN (e.g. dist/plasmactl from `npm run build:exe`) instead.
 */
import {type ChildProcess, spawn} from 'node:child_process'
import {chmod, mkdir, mkdtemp, open, rm} from 'node:fs/promises'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {isRunning, readPidFile, waitForExit} from '../../src/adapters/exec/processes.js'
import {
  SshConnections,
  type SshClient,
  type SshConnectOptions,
  type SshExecResult,
} from '../../src/adapters/ssh/index.js'

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const RUN_JS = join(REPO_ROOT, 'bin', 'run.js')
const PREFIX_LOCKS = '/tmp/plasmactl-test-prefixes'

export interface CliResult {
  stdout: string
  stderr: string
  exitCode: number
  /** Parsed stdout when the args include --json (the envelope: {ok, exitCode, status, data | error}). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json?: any
}

export interface CliOptions {
  /** Extra environment; a value of undefined removes the variable. */
  env?: Record<string, string | undefined>
  /** Kill the CLI after this long (default 180 s). */
  timeoutMs?: number
  input?: string
  cwd?: string
}

/** The command line that runs the CLI: PLASMACTL_BIN (an executable) when set, else `node bin/run.js`. */
export function cliCommand(): [string, string[]] {
  const bin = process.env.PLASMACTL_BIN
  return bin ? [resolve(REPO_ROOT, bin), []] : [process.execPath, [RUN_JS]]
}

/** Runs the real CLI (`node bin/run.js ARGS`, or PLASMACTL_BIN ARGS). Never throws for a non-zero exit. */
export async function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  opts: Omit<CliOptions, 'env'> = {},
): Promise<CliResult> {
  const fullEnv: NodeJS.ProcessEnv = {...process.env}
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete fullEnv[k]
    else fullEnv[k] = v
  }
  const [cmd, pre] = cliCommand()
  const child = spawn(cmd, [...pre, ...args], {
    cwd: opts.cwd ?? REPO_ROOT,
    env: fullEnv,
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  let spawnError: Error | undefined
  child.once('error', (err) => (spawnError = err))
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  child.stdin.end(opts.input ?? '')
  const {code, signal} = await exitOf(child, opts.timeoutMs ?? 180_000)
  if (spawnError) throw spawnError
  const result: CliResult = {stdout, stderr, exitCode: code ?? (signal ? 128 : 1)}
  if (args.includes('--json')) {
    try {
      result.json = JSON.parse(stdout)
    } catch {
      // Left undefined: the test's assertion on json shows stdout/stderr.
    }
  }
  return result
}

export interface LabNode {
  name: string
  address: string
  clientUrl: string
  sshPort: number
}

export interface Lab {
  /** The lab directory (DIR of `lab up --dir`). */
  dir: string
  configPath: string
  addressPrefix: string
  tls: boolean
  /** The account lab nodes log in as (plasmalab when the tests run as root). */
  user: string
  nodes: LabNode[]
  /** data of the `lab up --json` envelope. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  up: any
  /** Runs the CLI with PLASMACTL_CONFIG set to this lab's config file. */
  cli(args: string[], opts?: CliOptions): Promise<CliResult>
  /** Kills the member by its pid file and waits until it is dead. */
  killMember(name: string, signal?: NodeJS.Signals): Promise<void>
  /** Starts the member through the node's sshd with its service script (as runbooks do). */
  startMember(name: string): Promise<void>
  /** The member's pid, or undefined when it is not running. */
  memberPid(name: string): Promise<number | undefined>
  /** SSH settings for a node, as in the lab context. */
  sshTarget(name: string): SshConnectOptions
  /** A connection to the node's sshd, reused across calls and closed by stop(). */
  ssh(name: string): Promise<SshClient>
  sshExec(name: string, command: string, opts?: {timeoutMs?: number}): Promise<SshExecResult>
  /** Path of a node's service script (`SCRIPT chainfire start|stop|…`). */
  serviceScript(name: string): string
  /** `lab down --purge`, then removes the temp dir. Safe to call twice. */
  stop(): Promise<void>
}

export interface StartLabOptions {
  nodes?: number
  tls?: boolean
  /** Extra args for `lab up`. */
  args?: string[]
}

/** Reserves a random loopback /24 (127.100-250.x) with a lock file, so parallel labs never share one. */
async function reservePrefix(): Promise<{prefix: string; release: () => Promise<void>}> {
  await mkdir(PREFIX_LOCKS, {recursive: true})
  for (let i = 0; i < 200; i++) {
    const prefix = `127.${100 + Math.floor(Math.random() * 151)}.${Math.floor(Math.random() * 256)}`
    const lock = join(PREFIX_LOCKS, prefix)
    try {
      const fh = await open(lock, 'wx')
      await fh.writeFile(String(process.pid))
      await fh.close()
      return {prefix, release: () => rm(lock, {force: true})}
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
  }
  throw new Error(`no free address prefix: clean ${PREFIX_LOCKS}`)
}

export async function startLab(opts: StartLabOptions = {}): Promise<Lab> {
  const base = await mkdtemp('/tmp/plasmactl-lab-')
  await chmod(base, 0o755)
  const dir = join(base, 'lab')
  const configPath = join(base, 'config.yaml')
  const {prefix, release} = await reservePrefix()
  const env = {PLASMACTL_CONFIG: configPath, PLASMACTL_CONTEXT: undefined}
  const cli = (args: string[], o: CliOptions = {}) => runCli(args, {...env, ...o.env}, o)

  const args = [
    'lab',
    'up',
    '--dir',
    dir,
    '--address-prefix',
    prefix,
    '--nodes',
    String(opts.nodes ?? 3),
    ...(opts.tls ? ['--tls'] : []),
    ...(opts.args ?? []),
    '--json',
  ]
  const up = await cli(args)
  if (up.exitCode !== 0 || !up.json?.ok) {
    await cli(['lab', 'down', '--dir', dir, '--purge', '--json']).catch(() => undefined)
    await rm(base, {recursive: true, force: true})
    await release()
    throw new Error(`lab up failed (exit ${up.exitCode}):\n${up.stdout}\n${up.stderr}`)
  }
  const data = up.json.data
  const nodes: LabNode[] = data.nodes.map((n: LabNode) => ({
    name: n.name,
    address: n.address,
    clientUrl: n.clientUrl,
    sshPort: n.sshPort,
  }))
  const node = (name: string) => {
    const n = nodes.find((x) => x.name === name)
    if (!n) throw new Error(`no lab node ${name} (have ${nodes.map((x) => x.name).join(', ')})`)
    return n
  }
  const pidFile = (name: string) => join(dir, 'nodes', node(name).name, 'chainfire.pid')
  const connections = new SshConnections()
  let stopped = false

  const lab: Lab = {
    dir,
    configPath,
    addressPrefix: prefix,
    tls: Boolean(data.tls),
    user: data.user,
    nodes,
    up: data,
    cli,
    async memberPid(name) {
      const pid = await readPidFile(pidFile(name))
      return (await isRunning(pid, 'etcd')) ? pid : undefined
    },
    async killMember(name, signal = 'SIGKILL') {
      const pid = await lab.memberPid(name)
      if (!pid) throw new Error(`member ${name} is not running`)
      process.kill(pid, signal)
      if (!(await waitForExit(pid, 20_000))) throw new Error(`member ${name} (pid ${pid}) survived ${signal}`)
    },
    sshTarget(name) {
      const n = node(name)
      return {
        host: n.address,
        port: n.sshPort,
        username: data.user,
        identityFile: join(dir, 'ssh', 'id_ed25519'),
        knownHostsFile: join(dir, 'ssh', 'known_hosts'),
        hostKeyPolicy: 'strict',
        connectTimeoutMs: 10_000,
      }
    },
    ssh: (name) => connections.get(lab.sshTarget(name)),
    sshExec: async (name, command, o) => (await lab.ssh(name)).exec(command, {timeoutMs: o?.timeoutMs ?? 60_000}),
    serviceScript: (name) => join(dir, 'nodes', node(name).name, 'bin', 'service'),
    async startMember(name) {
      const r = await lab.sshExec(name, `${lab.serviceScript(name)} chainfire start`)
      if (r.exitCode !== 0)
        throw new Error(`starting member ${name} failed (exit ${r.exitCode}): ${r.stderr}${r.stdout}`)
    },
    async stop() {
      if (stopped) return
      stopped = true
      await connections.closeAll()
      const down = await cli(['lab', 'down', '--dir', dir, '--purge', '--json'])
      // If `lab down` failed, leave no processes behind anyway.
      if (down.exitCode !== 0) {
        // Extra hosts (lab up --hosts N) run only an sshd.
        for (const n of [...nodes, ...((data.hosts ?? []) as {name: string}[])]) {
          for (const [f, comm] of [
            [join(dir, 'nodes', n.name, 'chainfire.pid'), 'etcd'],
            [join(dir, 'nodes', n.name, 'sshd', 'sshd.pid'), 'sshd'],
          ]) {
            const pid = await readPidFile(f)
            if (pid && (await isRunning(pid, comm))) process.kill(pid, 'SIGKILL')
          }
        }
      }
      await rm(base, {recursive: true, force: true})
      await release()
      if (down.exitCode !== 0) throw new Error(`lab down failed (exit ${down.exitCode}): ${down.stdout}${down.stderr}`)
    },
  }
  return lab
}

/**
 * How CHILD ended (code and signal), once its output is read ('close'; or 5 s after its exit when a
 * process it left behind holds its stdout). A child still running after timeoutMs is killed
 * (SIGKILL), so a hung command fails its test instead of holding the whole run; one that never
 * started ends as {code: null, signal: null}. No timing assertion: only a bound.
 */
export function exitOf(
  child: ChildProcess,
  timeoutMs = 180_000,
): Promise<{code: number | null; signal: NodeJS.Signals | null}> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null)
      return resolve({code: child.exitCode, signal: child.signalCode})
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer)
      resolve({code, signal})
    }
    child.once('error', () => done(null, null))
    child.once('close', done)
    child.once('exit', (code, signal) => setTimeout(() => done(code, signal), 5000).unref())
  })
}

/** Polls FN until it returns a truthy value (or throws after timeoutMs). No timing assertions: only a bound. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const v = await fn()
      if (v) return v
    } catch (error) {
      lastError = error
    }
    if (Date.now() >= deadline)
      throw new Error(`${what} not reached within ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ''}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
