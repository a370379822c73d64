import {UsageError} from '../../errors.js'
import type {IncludeStep, Step, StepKindName, StepOfKind} from '../schema.js'
import type {StepKind} from '../types.js'
import {actionKind} from './action.js'
import {manualKind} from './manual.js'
import {checkKind, waitKind} from './probe.js'
import {serviceKind} from './service.js'
import {localKind, runKind} from './shell.js'

/** kind: runbook — its steps run in the step loop (step-loop.ts runInclude); here only how it reads. */
const includeKind: StepKind<IncludeStep> = {
  describe: (_env, step, _v, node) => [`${node ? `${node.name}: ` : ''}runbook ${step.runbook}`],
  execute() {
    return Promise.reject(new UsageError('kind runbook cannot run on a target'))
  },
}

/** The step kinds: kind → how it is planned and executed. Adding a kind: its type in schema.ts, a line here. */
const KINDS: {[K in StepKindName]: StepKind<StepOfKind<K>>} = {
  run: runKind,
  local: localKind,
  service: serviceKind,
  check: checkKind,
  wait: waitKind,
  action: actionKind,
  manual: manualKind,
  runbook: includeKind,
}

/** The handler of STEP's kind, typed for that step. */
export function kindOf<S extends Step>(step: S): StepKind<S> {
  // The mapped type above pairs each kind with its step type; TypeScript cannot follow that through S.
  return KINDS[step.kind] as unknown as StepKind<S>
}
