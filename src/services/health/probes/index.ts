import {activeNodes, nodesWithRole} from '../../../config/context.js'
import type {Context} from '../../../config/schema.js'
import type {Probe} from '../types.js'

/**
 * Every component's probe, loaded on demand. `configured` is a cheap test on the context, so the
 * module of a component the context does not configure is never loaded (it is reported skipped).
 * A new component adds one line here; `plasmactl health` picks it up without changes.
 */
export const PROBES: {component: string; configured: (ctx: Context) => boolean; load: () => Promise<Probe>}[] = [
  {
    component: 'chainfire',
    configured: (ctx) => Boolean(ctx.chainfire?.endpoints?.length) || nodesWithRole(ctx, 'chainfire').length > 0,
    load: async () => (await import('./chainfire.js')).chainfireProbe as Probe,
  },
  {
    component: 'backups',
    configured: (ctx) => Boolean(ctx.snapshots),
    load: async () => (await import('./backups.js')).backupsProbe as Probe,
  },
  {
    component: 'flaredb',
    configured: (ctx) => Boolean(ctx.flaredb) || activeNodes(ctx).some((n) => n.roles.includes('flaredb')),
    load: async () => (await import('./flaredb.js')).flaredbProbe as Probe,
  },
  {
    component: 'iam',
    configured: (ctx) => Boolean(ctx.iam?.url),
    load: async () => (await import('./iam.js')).iamProbe as Probe,
  },
  {
    component: 'prismnet',
    configured: (ctx) => Boolean(ctx.prismnet?.nb?.length || ctx.prismnet?.sb?.length),
    load: async () => (await import('./prismnet.js')).prismnetProbe as Probe,
  },
  {
    component: 'plasmavmc',
    configured: (ctx) => nodesWithRole(ctx, 'plasmavmc-host').length > 0,
    load: async () => (await import('./plasmavmc.js')).plasmavmcProbe as Probe,
  },
]
