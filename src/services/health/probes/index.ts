import type {Probe} from '../types.js'

/**
 * Every component's probe, loaded on demand. A new component adds one line here; `plasmactl health`
 * picks it up without changes.
 */
export const PROBES: {component: string; load: () => Promise<Probe>}[] = [
  {component: 'chainfire', load: async () => (await import('./chainfire.js')).chainfireProbe as Probe},
  {component: 'backups', load: async () => (await import('./backups.js')).backupsProbe as Probe},
  {component: 'flaredb', load: async () => (await import('./flaredb.js')).flaredbProbe as Probe},
  {component: 'iam', load: async () => (await import('./iam.js')).iamProbe as Probe},
  {component: 'prismnet', load: async () => (await import('./prismnet.js')).prismnetProbe as Probe},
  {component: 'plasmavmc', load: async () => (await import('./plasmavmc.js')).plasmavmcProbe as Probe},
]
