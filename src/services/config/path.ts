import {resolve} from 'node:path'
import {defaultConfigPath} from '../../config/paths.js'

/** The config file a command works on: --config (or PLASMACTL_CONFIG), else the XDG default. */
export function configFileFrom(flag?: string): string {
  return flag ? resolve(flag) : defaultConfigPath()
}
