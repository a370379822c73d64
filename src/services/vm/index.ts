export {
  checkVms,
  type OrphanVm,
  type VmCheckOptions,
  type VmCheckReport,
  type VmHostReport,
  type VmState,
} from './check.js'
export {reconcileOrphans, type ReconcileOrphansOptions, type ReconcileOrphansResult} from './reconcile.js'
export {restartVm, type VmRestartOptions, type VmRestartPlan, type VmRestartResult} from './restart.js'
export {loadVmRecords, parseVmRecord, resolveVm, VM_PREFIX, vmKey, vmRecordSchema, type VmRecord} from './records.js'
export {evacuateHost, type EvacuateOptions, type EvacuationItem, type EvacuationResult} from './evacuate.js'
