import {copyFile, mkdir, readFile} from 'node:fs/promises'
import {join, resolve} from 'node:path'
import {writeFileAtomic} from '../../core/fs.js'
import {UsageError} from '../../errors.js'
import {
  drillTimelineSpec,
  hasProbeTimeline,
  probeTimelineSpec,
  renderDrillMarkdown,
  renderSvg,
} from '../../output/drill.js'
import type {DrillResult} from './types.js'
import type {DrillOp} from './workload.js'

export interface DrillReportFiles {
  dir: string
  files: string[]
}

/** Writes a drill's report directory: result, history, a copy of the journal, report.md, timeline.svg. */
export async function writeDrillReport(
  dir: string,
  result: DrillResult,
  ops: DrillOp[],
  journalPath: string,
): Promise<DrillReportFiles> {
  await mkdir(dir, {recursive: true})
  await writeFileAtomic(join(dir, 'history.jsonl'), ops.map((o) => JSON.stringify(o)).join('\n') + '\n', 0o644)
  await writeFileAtomic(join(dir, 'result.json'), JSON.stringify(result, null, 2) + '\n', 0o644)
  await copyFile(journalPath, join(dir, 'journal.jsonl'))
  return renderDrillReport(dir)
}

/** (Re-)renders report.md and timeline.svg from result.json and history.jsonl in DIR (the probes in result.json without a history). */
export async function renderDrillReport(dirArg: string): Promise<DrillReportFiles> {
  const dir = resolve(dirArg)
  const read = async (f: string) => {
    try {
      return await readFile(join(dir, f), 'utf8')
    } catch {
      throw new UsageError(`${dir} is not a drill report directory: ${f} is missing`, {file: join(dir, f)})
    }
  }
  let result: DrillResult
  const resultText = await read('result.json')
  const historyText = await read('history.jsonl')
  try {
    result = JSON.parse(resultText) as DrillResult
  } catch (error) {
    throw new UsageError(`${join(dir, 'result.json')} is not valid JSON: ${(error as Error).message}`, {
      file: join(dir, 'result.json'),
    })
  }
  const lines = historyText.split('\n')
  const ops: DrillOp[] = []
  for (const [i, line] of lines.entries()) {
    if (!line.trim()) continue
    try {
      ops.push(JSON.parse(line) as DrillOp)
    } catch {
      throw new UsageError(`${join(dir, 'history.jsonl')}:${i + 1} is not valid JSON`, {
        file: join(dir, 'history.jsonl'),
        line: i + 1,
      })
    }
  }
  const files = ['report.md']
  await writeFileAtomic(join(dir, 'report.md'), renderDrillMarkdown(result), 0o644)
  // A ChainFire drill draws its operation history; a component drill or the restore rehearsal its probes.
  const spec =
    ops.length > 0 ? drillTimelineSpec(result, ops) : hasProbeTimeline(result) ? probeTimelineSpec(result) : null
  if (spec) {
    await writeFileAtomic(join(dir, 'timeline.svg'), await renderSvg(spec), 0o644)
    files.push('timeline.svg')
  }
  return {dir, files}
}
