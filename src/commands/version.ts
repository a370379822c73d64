import {BaseCommand} from '../base-command.js'

export interface VersionResult {
  version: string
  name: string
  node: string
  platform: string
  arch: string
}

export default class Version extends BaseCommand<typeof Version> {
  static override summary = 'Print the plasmactl version (and Node.js, platform)'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json | jq -r .data.version',
  ]

  public async run(): Promise<VersionResult> {
    const r = {
      name: this.config.name,
      version: this.config.version,
      node: process.versions.node,
      platform: process.platform,
      arch: process.arch,
    }
    return r
  }

  protected override render(_r: VersionResult): string {
    return this.config.userAgent
  }
}
