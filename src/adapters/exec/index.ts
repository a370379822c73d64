export {run, runChecked, which, type RunOptions, type RunResult} from './run.js'
