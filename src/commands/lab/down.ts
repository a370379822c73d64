import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {renderLabDown} from '../../output/lab.js'
import {labDown, type LabDownResult} from '../../services/lab/index.js'

export default class LabDown extends BaseCommand<typeof LabDown> {
  static override summary = 'Stop the lab processes (by their pid files); --purge also deletes the lab and its context'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --purge',
    '<%= config.bin %> <%= command.id %> --dir /tmp/lab2 --purge',
  ]

  static override flags = {
    dir: Flags.string({description: 'lab directory (default: from the lab context, else the default lab dir)'}),
    purge: Flags.boolean({description: 'delete the lab directory (all data) and remove contexts that point at it'}),
  }

  public async run(): Promise<LabDownResult> {
    const result = await labDown(
      {dir: this.flags.dir, context: this.flags.context, configPath: this.flags.config, purge: this.flags.purge},
      this.reporter(),
    )
    return result
  }

  protected override render(result: LabDownResult): string {
    return renderLabDown(result)
  }
}
