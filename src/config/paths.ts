import {homedir} from 'node:os'
import {join} from 'node:path'

export function configHome(): string {
  return process.env.XDG_CONFIG_HOME || join(homedir(), '.config')
}

export function stateHome(): string {
  return process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state')
}

/** --config flag, then PLASMACTL_CONFIG, then $XDG_CONFIG_HOME/plasmactl/config.yaml. */
export function defaultConfigPath(): string {
  return process.env.PLASMACTL_CONFIG || join(configHome(), 'plasmactl', 'config.yaml')
}

export function stateDir(): string {
  return process.env.PLASMACTL_STATE_DIR || join(stateHome(), 'plasmactl')
}
