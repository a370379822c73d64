import type {ExitName} from '../../errors.js'
import type {VmCheckReport} from './check.js'

/**
 * What `vm list` exits with: a host we cannot check from here is bad local input (2, naming the file);
 * no host reached at all means nothing was observed (3, as etcdctl fails when no endpoint answers).
 */
export function vmListExit(r: VmCheckReport): {exit: ExitName; problems: string[]} {
  const local = r.hosts.filter((h) => h.cannotCheck)
  const down = r.hosts.filter((h) => !h.reachable && !h.cannotCheck)
  const problems = [
    ...local.map((h) => `cannot check host ${h.host} from here: ${h.cannotCheck}`),
    ...down.map((h) => `host ${h.host} unreachable: ${h.error}`),
  ]
  if (local.length > 0) return {exit: 'USAGE', problems}
  if (r.hosts.length > 0 && down.length === r.hosts.length)
    return {
      exit: 'OPERATION_FAILED',
      problems: [...problems, 'no PlasmaVMC host could be reached: the VM states are unknown'],
    }
  return {exit: 'OK', problems}
}
