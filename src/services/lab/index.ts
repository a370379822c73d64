export {labDown, type LabDownOptions, type LabDownResult} from './down.js'
export {labStatus, type LabStatusOptions, type LabStatusResult} from './status.js'
export {labUp, type LabUpOptions, type LabUpResult} from './up.js'
export {defaultLabDir, LAB_USER, labPaths, nodePaths} from './layout.js'
