import type {Context, Role} from '../../../config/schema.js'
import {UsageError} from '../../../errors.js'
import type {LabState} from '../state.js'
import type {LabComponent} from './types.js'

export type {LabComponent, LabComponentContext, LabComponentProcess} from './types.js'

/** Optional lab components (`lab up --with a,b`), loaded on demand. A new component adds one line. */
export const LAB_COMPONENTS: Record<string, () => Promise<LabComponent>> = {
  ovn: async () => (await import('./ovn.js')).ovnComponent,
  flaredb: async () => (await import('./flaredb.js')).flaredbComponent,
  iam: async () => (await import('./iam.js')).iamComponent,
  vm: async () => (await import('./vm.js')).vmComponent,
}

/** Parses --with values ("ovn,flaredb" or repeated flags); unknown names are a usage error. */
export function parseWith(values: string[] | undefined): string[] {
  const names = (values ?? [])
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean)
  const unknown = names.filter((n) => !(n in LAB_COMPONENTS))
  if (unknown.length > 0)
    throw new UsageError(
      `unknown lab component ${unknown.join(', ')} (have: ${Object.keys(LAB_COMPONENTS).join(', ')})`,
    )
  return [...new Set(names)]
}

export async function loadLabComponents(names: string[]): Promise<LabComponent[]> {
  return Promise.all(names.map((n) => LAB_COMPONENTS[n]()))
}

/** The context sections and node roles the lab's components add. */
export async function componentContext(
  state: LabState,
): Promise<{sections: Partial<Context>; roles: Record<string, Role[]>}> {
  const sections: Partial<Context> = {}
  const roles: Record<string, Role[]> = {}
  for (const c of await loadLabComponents(state.components ?? [])) {
    const part = c.context(state)
    const {services, ...rest} = part.sections
    Object.assign(sections, rest)
    if (services) sections.services = {...sections.services, ...services}
    for (const [node, r] of Object.entries(part.roles ?? {})) roles[node] = [...new Set([...(roles[node] ?? []), ...r])]
  }
  return {sections, roles}
}
