import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {isInteractive, promptInitAnswers} from '../../prompts/config-init.js'
import {ENVIRONMENTS, initConfig, type InitResult} from '../../services/config/init.js'
import {configFileFrom} from '../../services/config/path.js'

export default class ConfigInit extends BaseCommand<typeof ConfigInit> {
  static override summary = 'Create the config file from the commented template'
  static override description = `Writes a config with one context (made current) from flags, or by prompts on a terminal when no flags are given.
Without a terminal every required answer must come from a flag: cron and CI never hang on a prompt.
Refuses to overwrite an existing file unless --force; the file is written atomically and validated first.`

  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --context-name prod-eu1 --environment production --node cp1=10.20.0.11:chainfire,flaredb --node cp2=10.20.0.12 --node cp3=10.20.0.13 --ssh-user plasma --identity-file ~/.ssh/plasma_ed25519',
    '<%= config.bin %> <%= command.id %> --config ./lab.yaml --context-name lab --environment lab --node n1=127.0.0.1 --endpoint http://127.0.0.1:2379 --force',
  ]

  static override flags = {
    'context-name': Flags.string({description: 'name of the context to create (becomes current-context)'}),
    environment: Flags.option({options: ENVIRONMENTS, description: 'kind of cluster'})(),
    node: Flags.string({
      description:
        'a node as name=address[:role,…] (roles default to chainfire; IPv6 in brackets: n1=[fd00::1]:chainfire)',
      multiple: true,
      multipleNonGreedy: true,
    }),
    'ssh-user': Flags.string({description: 'SSH user for every node (default: $USER)'}),
    'identity-file': Flags.string({description: 'path to the SSH private key'}),
    endpoint: Flags.string({
      description: 'ChainFire client URL (default: every chainfire node at :2379)',
      multiple: true,
      multipleNonGreedy: true,
    }),
    force: Flags.boolean({description: 'overwrite an existing config file', default: false}),
  }

  public async run(): Promise<InitResult> {
    const f = this.flags
    const result = await initConfig({
      path: configFileFrom(f.config),
      force: f.force,
      flags: {
        contextName: f['context-name'],
        environment: f.environment,
        nodes: f.node,
        sshUser: f['ssh-user'],
        identityFile: f['identity-file'],
        endpoints: f.endpoint,
      },
      prompter: isInteractive() ? promptInitAnswers : undefined,
    })
    return result
  }

  protected override render(result: InitResult): string {
    return `${result.overwritten ? 'overwrote' : 'wrote'} ${result.path}: context "${result.context}" (${result.environment}, ${result.nodes.length} node${result.nodes.length === 1 ? '' : 's'}) is current`
  }
}
