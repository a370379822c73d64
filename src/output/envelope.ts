import {errorLocation, EXIT, exitNameOf, PlasmaError, type ExitName} from '../errors.js'

/**
 * The one JSON envelope for results and errors with --json; scripts rely on it:
 *   {"ok":true,"exitCode":0,"status":"ok","data":{...},"warnings":[]}
 *   {"ok":false,"exitCode":2,"status":"error","error":{"code":"USAGE","message":"...","location":"f.yaml:3:5"},"warnings":[]}
 * An error may carry the partial result (PlasmaError.data: the steps done so far) as `data`.
 * Streaming commands (`health --watch`, `chainfire watch`) print one such envelope per line.
 */
export interface Envelope<T = unknown> {
  ok: boolean
  exitCode: number
  status: string
  data?: T
  error?: {
    code: ExitName
    name: string
    message: string
    location?: string
    hint?: string
    details?: Record<string, unknown>
  }
  warnings: string[]
}

export function successEnvelope<T>(data: T, exitCode: number, status: string, warnings: string[] = []): Envelope<T> {
  return {ok: exitCode === 0, exitCode, status, data, warnings}
}

export function errorEnvelope(err: unknown, warnings: string[] = []): Envelope {
  const code = exitNameOf(err)
  const e = err as Error
  const details = err instanceof PlasmaError ? err.details : {}
  const {hint, ...rest} = details
  const location = errorLocation(details)
  return {
    ok: false,
    exitCode: EXIT[code],
    status: 'error',
    error: {
      code,
      name: e?.name ?? 'Error',
      message: e?.message ?? String(err),
      ...(location ? {location} : {}),
      ...(hint ? {hint: String(hint)} : {}),
      ...(Object.keys(rest).length > 0 ? {details: rest} : {}),
    },
    ...(err instanceof PlasmaError && err.data !== undefined ? {data: err.data} : {}),
    warnings,
  }
}
