/**
 * Every command acts on the cluster and host it names: runbook local steps run this installation
 * with the run's config and context; SSH connections are shared only between identical connection
 * settings (and every target's host key is checked); lab up / status / down pick the same lab.
 */
import assert from 'node:assert/strict'
import {chmod, mkdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parse as parseYaml, stringify} from 'yaml'
import {runCli, startLab, type Lab} from '../helpers/lab.js'

interface Ctx {
  name: string
  ssh: Record<string, unknown>
  nodes: {name: string; address: string; roles?: string[]; ssh?: Record<string, unknown>}[]
  lab?: {dir: string}
}

describe('commands act on the cluster and host they name (real lab)', () => {
  let lab: Lab
  let work: string
  let labCtx: Ctx

  /** Writes a config file with these contexts (and current-context); returns its path. */
  const config = async (file: string, contexts: Ctx[], current: string) => {
    const p = join(work, file)
    await writeFile(p, stringify({apiVersion: 'plasmactl/v1', 'current-context': current, contexts}))
    return p
  }
  const copyOf = (name: string, edit: (c: Ctx) => void = () => {}): Ctx => {
    const c = structuredClone(labCtx)
    c.name = name
    edit(c)
    return c
  }
  const clean = {PLASMACTL_CONFIG: undefined, PLASMACTL_CONTEXT: undefined}

  before(async () => {
    lab = await startLab({nodes: 3})
    work = join(lab.dir, '..', 'targets')
    await mkdir(work, {recursive: true})
    labCtx = (parseYaml(await readFile(lab.configPath, 'utf8')).contexts as Ctx[]).find((c) => c.name === 'lab')!
  })
  after(async () => {
    await lab?.stop()
  })

  it("a runbook local step runs this installation of plasmactl, with the run's --config and --context", async () => {
    // Context "elsewhere" is current and reaches nothing; the run names context "A" (the lab).
    const elsewhere = copyOf('elsewhere', (c) => {
      for (const n of c.nodes) n.address = '127.0.0.254'
      c.ssh.port = 1
      delete c.lab
    })
    const cfg = await config('two-contexts.yaml', [copyOf('A', (c) => delete c.lab), elsewhere], 'elsewhere')
    // Another plasmactl first on PATH: a local step must not pick it.
    const otherBin = join(work, 'other-bin')
    await mkdir(otherBin, {recursive: true})
    await writeFile(join(otherBin, 'plasmactl'), '#!/bin/sh\necho "another plasmactl installation" >&2\nexit 42\n')
    await chmod(join(otherBin, 'plasmactl'), 0o755)
    const rb = join(work, 'local-plasmactl.yaml')
    await writeFile(
      rb,
      [
        'apiVersion: plasmactl/v1',
        'kind: Runbook',
        'metadata:',
        '  name: local-plasmactl',
        '  mutating: false',
        'steps:',
        '  - id: reach',
        '    kind: local',
        "    command: plasmactl exec n2 -- 'echo reached-$SSH_CONNECTION'",
        '',
      ].join('\n'),
    )
    const r = await runCli(['runbook', 'run', rb, '--config', cfg, '--context', 'A', '--yes'], {
      ...clean,
      PATH: `${otherBin}:${process.env.PATH}`,
      PLASMACTL_STATE_DIR: join(work, 'state'),
    })
    assert.equal(r.exitCode, 0, r.stdout + r.stderr)
    const n2 = lab.nodes[1]
    // The step's plasmactl reached n2 of context A (its sshd saw the connection on n2's address).
    assert.match(r.stderr, new RegExp(`reached-\\S+ \\d+ ${n2.address.replaceAll('.', '\\.')} ${n2.sshPort}`), r.stderr)
    assert.doesNotMatch(r.stderr, /another plasmactl installation/)
  })

  it('two nodes at the same address:port, one behind a ProxyCommand, one with a wrong known_hosts entry, get their own connections', async () => {
    const [n1, n2] = lab.nodes
    const sshDir = join(lab.dir, 'ssh')
    const labKnownHosts = await readFile(join(sshDir, 'known_hosts'), 'utf8')
    const keyOf = (n: {address: string; sshPort: number}) =>
      labKnownHosts
        .split('\n')
        .find((l) => l.startsWith(`[${n.address}]:${n.sshPort} `))!
        .split(' ')
        .slice(1)
        .join(' ')
    // "behind" is n1's address and port, reached through a ProxyCommand that lands on n2's sshd
    // (its key filed under a HostKeyAlias).
    const aliasKnownHosts = join(work, 'alias_known_hosts')
    await writeFile(aliasKnownHosts, `n2-alias ${keyOf(n2)}\n`)
    const proxy = `ssh -F /dev/null -i ${sshDir}/id_ed25519 -o UserKnownHostsFile=${sshDir}/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes -p ${n2.sshPort} -l ${lab.user} -W ${n2.address}:${n2.sshPort} ${n2.address}`
    const sshConfig = join(work, 'ssh_config')
    await writeFile(
      sshConfig,
      [
        'Host behind',
        `  HostName ${n1.address}`,
        `  Port ${n1.sshPort}`,
        '  HostKeyAlias n2-alias',
        `  ProxyCommand ${proxy}`,
        '',
      ].join('\n'),
    )
    // "forged" is n1's address and port too, but its known_hosts file holds another key for it.
    const forgedKnownHosts = join(work, 'forged_known_hosts')
    await writeFile(forgedKnownHosts, `[${n1.address}]:${n1.sshPort} ${keyOf(n2)}\n`)
    const ctx = copyOf('pool', (c) => {
      c.nodes = [
        {...c.nodes[0], name: 'direct'},
        {name: 'behind', address: 'behind', ssh: {'config-file': sshConfig, 'known-hosts': aliasKnownHosts}},
        {name: 'forged', address: n1.address, ssh: {'known-hosts': forgedKnownHosts}},
      ]
      delete c.lab
    })
    const cfg = await config('pool.yaml', [ctx], 'pool')
    const r = await runCli(['exec', 'direct,behind,forged', '--json', '--', 'echo $SSH_CONNECTION'], {
      ...clean,
      PLASMACTL_CONFIG: cfg,
    })
    assert.ok(r.json, r.stdout + r.stderr)
    const host = (name: string) => r.json.data.hosts.find((h: {node: string}) => h.node === name)
    const server = (name: string) => host(name).stdout.trim().split(/\s+/).slice(2).join(':')
    assert.equal(server('direct'), `${n1.address}:${n1.sshPort}`, JSON.stringify(host('direct')))
    // The command for "behind" ran on the host behind the proxy, not on the other node at that address.
    assert.equal(server('behind'), `${n2.address}:${n2.sshPort}`, JSON.stringify(host('behind')))
    // The forged entry is checked for its own target: refused (exit 6), not carried by "direct"'s connection.
    assert.equal(host('forged').exitCode ?? null, null, JSON.stringify(host('forged')))
    assert.match(host('forged').error, /host key/i)
    assert.equal(r.exitCode, 6, r.stdout + r.stderr)
  })

  it("lab up and lab status choose the selected context's lab (PLASMACTL_CONTEXT), not the current context's", async () => {
    // The current context "lab" points at another lab dir (a lab the operator cannot bring up here).
    const decoy = join(work, 'decoy-lab')
    await mkdir(decoy, {recursive: true})
    const state = JSON.parse(await readFile(join(lab.dir, 'lab.json'), 'utf8'))
    await writeFile(
      join(decoy, 'lab.json'),
      JSON.stringify({...state, dir: decoy, user: 'not-this-lab-user', addressPrefix: '127.0.99'}),
    )
    const cfg = await config('labs.yaml', [copyOf('x'), copyOf('lab', (c) => (c.lab = {dir: decoy}))], 'lab')
    const env = {...clean, PLASMACTL_CONFIG: cfg, PLASMACTL_CONTEXT: 'x'}
    const status = await runCli(['lab', 'status', '--json'], env)
    assert.equal(status.exitCode, 0, status.stdout + status.stderr)
    assert.equal(status.json.data.dir, lab.dir)
    const up = await runCli(['lab', 'up', '--json'], env)
    assert.equal(up.exitCode, 0, up.stdout + up.stderr)
    assert.equal(up.json.data.dir, lab.dir)
    assert.equal(up.json.data.context, 'x')
    assert.deepEqual(up.json.data.started, {sshd: 0, members: 0}, 'the lab was up: nothing started')
    const written = parseYaml(await readFile(cfg, 'utf8'))
    assert.equal(written['current-context'], 'x')
    assert.equal(written.contexts.find((c: Ctx) => c.name === 'lab').lab.dir, decoy, 'the other context is untouched')
    // A selected context that does not exist is an error (exit 2), not a new lab elsewhere.
    const missing = await runCli(['lab', 'up', '--json'], {...env, PLASMACTL_CONTEXT: 'nope'})
    assert.equal(missing.exitCode, 2, missing.stdout + missing.stderr)
    assert.match(missing.json.error.message, /context "nope" not found/)
    assert.equal((await runCli(['lab', 'status', '--json'], env)).json?.data?.dir, lab.dir)
  })
})
