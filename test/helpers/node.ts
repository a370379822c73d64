/** Helpers of the node lifecycle tests: cluster facts read straight from the members, lock holders, config edits. */
import {readdir, readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {parseDocument} from 'yaml'
import {ChainfireClient} from '../../src/adapters/chainfire/index.js'
import type {Lab} from './lab.js'

export function clientOf(lab: Lab, names?: string[]): ChainfireClient {
  const nodes = names ? lab.nodes.filter((n) => names.includes(n.name)) : lab.nodes
  return new ChainfireClient({
    endpoints: nodes.map((n) => ({name: n.name, url: n.clientUrl})),
    commandTimeoutMs: 2000,
    retries: 2,
  })
}

/** Member names, sorted, as the cluster reports them. */
export async function memberNames(client: ChainfireClient): Promise<string[]> {
  return (await client.memberList()).members.map((m) => m.name).sort()
}

/** Sets keys under the lab context's chainfire section (e.g. a short lock TTL). */
export function setChainfireSetting(lab: Lab, key: string, value: unknown): Promise<void> {
  return setContextValue(lab, ['chainfire', key], value)
}

/** Sets (or, with undefined, deletes) the value at PATH in the lab context; a node is named by its name (e.g. ['nodes', 'n2', 'services']). */
export async function setContextValue(lab: Lab, path: string[], value: unknown): Promise<void> {
  const doc = parseDocument(await readFile(lab.configPath, 'utf8'))
  const ctx = (doc.toJS().contexts as {name: string; nodes: {name: string}[]}[])
    .map((c, i) => ({...c, i}))
    .find((c) => c.name === 'lab')!
  const at = path[0] === 'nodes' ? ['nodes', ctx.nodes.findIndex((n) => n.name === path[1]), ...path.slice(2)] : path
  if (value === undefined) doc.deleteIn(['contexts', ctx.i, ...at])
  else doc.setIn(['contexts', ctx.i, ...at], value)
  await writeFile(lab.configPath, doc.toString())
}

export async function contextNode(lab: Lab, name: string): Promise<{name: string; removed?: boolean} | undefined> {
  const doc = parseDocument(await readFile(lab.configPath, 'utf8')).toJS() as {
    contexts: {name: string; nodes: {name: string; removed?: boolean}[]}[]
  }
  return doc.contexts.find((c) => c.name === 'lab')?.nodes.find((n) => n.name === name)
}

export async function nodeDirEntries(lab: Lab, name: string): Promise<string[]> {
  return (await readdir(join(lab.dir, 'nodes', name))).sort()
}

/** The journal events of one run. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function journalOf(stateDir: string, runId: string): Promise<any[]> {
  const text = await readFile(join(stateDir, 'node-runs', `${runId}.jsonl`), 'utf8')
  return text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))
}

/** The leader's name and the term, as the members themselves report them. */
export async function leaderOf(client: ChainfireClient): Promise<{leader: string | null; term: number}> {
  const members = (await client.memberList()).members
  for (const e of client.endpoints) {
    try {
      const s = await client.status(e, 1000)
      return {leader: members.find((m) => m.id === s.leader)?.name ?? null, term: s.raftTerm}
    } catch {
      // try the next member
    }
  }
  return {leader: null, term: -1}
}

/** What "nothing changed" means: membership, revision, and every member process still the same. */
export async function fingerprint(lab: Lab, client: ChainfireClient, names: string[]) {
  const members = await memberNames(client)
  const revision = (await client.get('/nothing')).header.revision
  const pids = await Promise.all(names.map((n) => lab.memberPid(n)))
  const disabled = await Promise.all(
    names.map(async (n) => (await nodeDirEntries(lab, n)).includes('chainfire.disabled')),
  )
  const data = await Promise.all(names.map(async (n) => (await nodeDirEntries(lab, n)).includes('data')))
  return {members, revision, pids, disabled, data}
}
