import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before} from 'node:test'
import {ChainfireClient} from '../../src/adapters/chainfire/index.js'
import {type Lab, startLab} from './lab.js'

export interface DrillLab {
  lab: Lab
  /** The CLI's state directory for this file's drills (journals, reports). */
  state: string
  client: ChainfireClient
}

/**
 * A 3-node lab, a state directory of its own and a ChainFire client of the members: made before the
 * tests of the calling describe block, closed and removed after them.
 */
export function drillLab(name: string): DrillLab {
  const d = {} as DrillLab
  before(async () => {
    d.lab = await startLab({nodes: 3})
    d.state = await mkdtemp(join(tmpdir(), `plasmactl-${name}-state-`))
    d.client = new ChainfireClient({
      endpoints: d.lab.nodes.map((n) => ({name: n.name, url: n.clientUrl})),
      commandTimeoutMs: 3000,
    })
  })
  after(async () => {
    d.client?.close()
    await d.lab?.stop()
    if (d.state) await rm(d.state, {recursive: true, force: true})
  })
  return d
}
