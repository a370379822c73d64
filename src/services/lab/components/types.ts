import type {Context, Role} from '../../../config/schema.js'
import type {Reporter} from '../../reporter.js'
import type {LabUser} from '../prereqs.js'
import type {LabNodeState, LabState} from '../state.js'

/**
 * An optional part of the lab (`lab up --with NAME`). Each lives in its own module and registers
 * one line in ./index.ts; up.ts and down.ts loop over the registry and never name a component.
 */
export interface LabComponent {
  name: string
  description: string
  /** Programs it needs on PATH, with the Debian package that ships each. */
  programs: Record<string, string>
  /** Creates what is missing and starts what is down; idempotent. Returns one line per process. */
  up(lc: LabComponentContext): Promise<LabComponentProcess[]>
  /** Stops its processes (by pid file). */
  down(state: LabState): Promise<LabComponentProcess[]>
  /** What the lab context gains: sections (prismnet, iam, flaredb, services …) and node roles. */
  context(state: LabState): {sections: Partial<Context>; roles?: Record<string, Role[]>}
}

export interface LabComponentContext {
  state: LabState
  user: LabUser
  reporter: Reporter
  /** Absolute paths of the programs in `programs`. */
  bins: Record<string, string>
  /** ChainFire client URLs and TLS files, for components that write into ChainFire. */
  chainfire: {urls: string[]; tls?: {ca: string; cert: string; key: string}}
}

export interface LabComponentProcess {
  component: string
  node: string
  service: string
  pid?: number
  outcome: 'started' | 'running' | 'stopped' | 'killed' | 'not-running'
  endpoint?: string
}

export type {LabNodeState, LabState}
