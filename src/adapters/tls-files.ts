import {readFileSync} from 'node:fs'
import {UsageError} from '../errors.js'

/** Reads a PEM file named in the config (CA, client certificate or key); unreadable is bad input (exit 2). */
export function readTlsFile(path?: string): Buffer | undefined {
  if (!path) return undefined
  try {
    return readFileSync(path)
  } catch (error) {
    throw new UsageError(`cannot read TLS file ${path}: ${(error as Error).message}`, {file: path})
  }
}
