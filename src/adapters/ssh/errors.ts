// SSH errors that callers test for without loading the SSH client (and ssh2 with it): health's
// "cannot check" explanation needs the class, not a connection.
import {RefusedError} from '../../errors.js'

/** A host key that is unknown (under the strict policy), changed or revoked. */
export class HostKeyRefusedError extends RefusedError {}
