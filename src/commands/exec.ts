import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../base-command.js'
import {resolveContext} from '../config/context.js'
import {parseTimeout} from '../config/duration.js'
import {setExitCode} from '../errors.js'
import {renderExec} from '../output/runbook.js'
import {type ExecResult, execExit, execOnNodes} from '../services/exec-on-nodes.js'

export default class Exec extends BaseCommand<typeof Exec> {
  static override summary = 'Run a command on nodes over SSH, in parallel, output labelled per host'
  static override description =
    'TARGET: node names (comma-separated), role:ROLE, all, leader or followers. Exit 0 when every host exits 0; 6 when a host was refused by a safety check (changed host key, sudo wanting a password); 2 for bad local input (e.g. an encrypted key without its passphrase); else 3. The whole result is printed first.'
  static override examples = [
    '<%= config.bin %> <%= command.id %> all -- uptime',
    '<%= config.bin %> <%= command.id %> leader --group -- df -h /var/lib',
    '<%= config.bin %> <%= command.id %> n1,n2 --json -- cat /etc/hostname',
  ]
  static override strict = false
  static override args = {
    target: Args.string({description: 'nodes: NAME[,NAME], role:ROLE, all, leader, followers', required: true}),
  }
  static override flags = {
    group: Flags.boolean({description: 'print output grouped per host instead of prefixed lines'}),
    timeout: Flags.string({description: 'per-command timeout (the remote process is killed)', default: '5m'}),
    forks: Flags.integer({description: "hosts at once (pdsh's default fan-out)", default: 32, min: 1}),
    'connect-timeout': Flags.string({
      description:
        "per-host TCP connect + SSH handshake + authentication timeout (default: the context's ssh.connect-timeout, else 10s); a hung host costs it once",
    }),
    sudo: Flags.boolean({
      description: 'run through sudo -n (a sudo that wants a password is refused, never prompted for)',
    }),
    'accept-new-host-keys': Flags.boolean({
      description: 'record unknown host keys (trust on first use); a changed key is refused',
    }),
  }

  public async run(): Promise<ExecResult> {
    const command = this.argv.slice(this.argv.indexOf('--') + 1).join(' ')
    if (!this.argv.includes('--') || !command.trim()) this.error('usage: plasmactl exec TARGET -- COMMAND', {exit: 2})
    const {loaded, ctx} = await resolveContext(this.flags)
    const live = !this.jsonEnabled() && !this.flags.group
    const result = await execOnNodes({
      loaded,
      ctx,
      target: this.args.target,
      command,
      timeoutMs: parseTimeout(this.flags.timeout, '--timeout'),
      connectTimeoutMs: this.flags['connect-timeout']
        ? parseTimeout(this.flags['connect-timeout'], '--connect-timeout')
        : undefined,
      forks: this.flags.forks,
      sudo: this.flags.sudo,
      acceptNewHostKeys: this.flags['accept-new-host-keys'],
      onHost: live
        ? (h) => {
            for (const l of (h.stdout + h.stderr).replace(/\n$/, '').split('\n').filter(Boolean))
              this.log(`${h.node} | ${l}`)
            if (h.error) this.logToStderr(`${h.node} | error: ${h.error}`)
          }
        : undefined,
    })
    const exit = execExit(result)
    if (exit !== 'OK') setExitCode(exit)
    return result
  }

  protected override render(result: ExecResult): string {
    return renderExec(result, this.flags.group)
  }
}
