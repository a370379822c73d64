import type {Context} from '../../../config/schema.js'
import type {LabState} from '../state.js'
import {vmContextPatch} from './vm.js'

/**
 * Optional lab components (`lab up --with NAME`). Each adds its processes in its own module and may
 * add to the lab context; a new component adds one entry here and one option to the flag.
 */
export const LAB_COMPONENTS = ['vm'] as const
export type LabComponent = (typeof LAB_COMPONENTS)[number]

const CONTEXT_PATCHES: Record<string, (state: LabState, ctx: Context) => Context> = {
  vm: vmContextPatch,
}

export function applyComponentContext(state: LabState, ctx: Context): Context {
  let out = ctx
  for (const c of state.components ?? []) out = CONTEXT_PATCHES[c]?.(state, out) ?? out
  return out
}
