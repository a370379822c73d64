import type {GetContextsResult} from '../services/config/contexts.js'
import {renderTable} from './table.js'

/** The human form of `config get-contexts` . */
export function formatContexts(result: GetContextsResult): string {
  if (result.contexts.length === 0) return `no contexts in ${result.path}`
  return renderTable(
    ['CURRENT', 'NAME', 'ENVIRONMENT', 'NODES', 'ENDPOINTS'],
    result.contexts.map((c) => [
      c.current ? '*' : '',
      c.name,
      c.environment,
      String(c.nodes),
      c.endpoints.join(',') || '-',
    ]),
  )
}
