export {QmpError, qmpQueryStatus, QmpSession, type QmpFailure, type QmpGreeting, type QmpStatus} from './client.js'
