export {isRunning, processInfo, readPidFile, terminate, waitForExit, type ProcessInfo} from './processes.js'
export {run, runChecked, which, type RunOptions, type RunResult} from './run.js'
export {freePort} from './ports.js'
