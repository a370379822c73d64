import {BaseCommand} from '../../base-command.js'

export default class ChainfireMembers extends BaseCommand<typeof ChainfireMembers> {
  static override summary = 'List ChainFire members with health, leader and learner flags'
  static override examples = ['<%= config.bin %> <%= command.id %>']

  public async run(): Promise<unknown> {
    return {todo: true}
  }
}
