import {BaseCommand} from '../../base-command.js'
import {renderDrillList} from '../../output/drill.js'
import {DRILLS, type DrillSpec} from '../../services/drill/catalog.js'

export default class DrillList extends BaseCommand<typeof DrillList> {
  static override summary = 'List the HA drills: the fault each injects and how it recovers'
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  public async run(): Promise<{drills: DrillSpec[]}> {
    if (!this.jsonEnabled()) this.log(renderDrillList(DRILLS))
    return {drills: DRILLS}
  }
}
