import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {renderLabUp} from '../../output/lab.js'
import {parseTimeout} from '../../config/duration.js'
import {parseWith} from '../../services/lab/components/index.js'
import {labUp, type LabUpResult} from '../../services/lab/index.js'

export default class LabUp extends BaseCommand<typeof LabUp> {
  static override summary = 'Start a real multi-node lab cluster on this machine (sshd + ChainFire member per node)'
  static override description =
    'Each node gets a loopback address, its own OpenSSH sshd and its own ChainFire member (the etcd binary), started through that sshd. ' +
    'Writes a context (default "lab") and makes it current. Running it again starts only what is down. Like `lab status` and `lab down`, it acts on the lab of --dir, else of the selected context (--context, PLASMACTL_CONTEXT), else of the current context, else the default lab.'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --nodes 5 --tls',
    '<%= config.bin %> <%= command.id %> --with ovn,flaredb,iam',
    '<%= config.bin %> <%= command.id %> --with vm --vms-per-host 10',
    '<%= config.bin %> <%= command.id %> --hosts 50',
    '<%= config.bin %> <%= command.id %> --dir /tmp/lab2 --address-prefix 127.0.20 --context-name lab2',
  ]

  static override flags = {
    nodes: Flags.integer({
      description: 'number of nodes: 3 or 5 (default 3; an existing lab keeps its size)',
      min: 3,
      max: 5,
    }),
    dir: Flags.string({
      description: 'lab directory (default: /var/lib/plasmactl/lab as root, else $XDG_STATE_HOME/plasmactl/lab)',
    }),
    'address-prefix': Flags.string({
      description: "first three octets of the nodes' loopback addresses (default 127.0.10)",
    }),
    tls: Flags.boolean({description: 'serve ChainFire clients over TLS with client certificates', allowNo: true}),
    'context-name': Flags.string({description: 'name of the context to write (default lab)'}),
    wait: Flags.string({description: 'how long to wait for a leader', default: '60s'}),
    with: Flags.string({
      description:
        'optional components to add: ovn, flaredb, iam, vm (comma-separated or repeated; kept by later runs)',
      multiple: true,
    }),
    hosts: Flags.integer({
      description:
        'extra hosts h1..hN running only an sshd (role plasmavmc-host; their VMs with --with vm), on PREFIX.101 and up; 0..100, kept by later runs',
      min: 0,
      max: 100,
    }),
    'vms-per-host': Flags.integer({description: 'QEMU VMs per node with --with vm (default 2)', min: 0, max: 50}),
    'flaredb-heartbeat': Flags.string({
      description: "heartbeat interval of the lab's FlareDB stores (set when flaredb is first added)",
      default: '10s',
    }),
  }

  public async run(): Promise<LabUpResult> {
    const f = this.flags
    const result = await labUp(
      {
        dir: f.dir,
        nodes: f.nodes,
        addressPrefix: f['address-prefix'],
        tls: f.tls,
        contextName: f['context-name'],
        context: f.context,
        configPath: f.config,
        waitMs: parseTimeout(f.wait, '--wait'),
        with: parseWith(f.with),
        flaredbHeartbeatMs: parseTimeout(f['flaredb-heartbeat'], '--flaredb-heartbeat'),
        vmsPerHost: f['vms-per-host'],
        hosts: f.hosts,
      },
      this.reporter(),
    )
    return result
  }

  protected override render(result: LabUpResult): string {
    return renderLabUp(result)
  }
}
