// The journal moved to the engine core; this path stays for the services that import it.
export {Journal, type JournalEvent} from '../core/engine/journal.js'
