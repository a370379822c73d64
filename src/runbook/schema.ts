import {z} from 'zod'
import {DURATION_PATTERN} from '../config/duration.js'

/**
 * The runbook file format (YAML). The JSON Schema in schemas/runbook.schema.json is generated from
 * this at build time. Objects are strict: an unknown key is a lint error with file:line.
 */
const duration = z.union([
  z.string().regex(DURATION_PATTERN, 'expected a duration like 500ms, 5s, 2m30s'),
  z.number().nonnegative(),
])

export const PARAM_TYPES = ['string', 'int', 'bool', 'node', 'duration', 'enum'] as const
export const STEP_KINDS = ['run', 'local', 'service', 'check', 'wait', 'action', 'manual', 'runbook'] as const
export const ACTIONS = [
  'move-leader',
  'member-remove',
  'member-add-learner',
  'member-promote',
  'snapshot-save',
  'snapshot-restore',
  'recover-quorum',
  'defrag',
  'wait-healthy',
  'node-replace',
] as const
export const ID_RE = /^[a-z0-9][a-z0-9_-]*$/

export const paramSchema = z
  .strictObject({
    type: z.enum(PARAM_TYPES),
    description: z.string().optional(),
    required: z.boolean().optional(),
    default: z.union([z.string(), z.number(), z.boolean()]).optional(),
    values: z.array(z.string()).optional().describe('allowed values of an enum'),
    pattern: z.string().optional().describe('regular expression a string value must match'),
    min: z.number().optional(),
    max: z.number().optional(),
    secret: z
      .boolean()
      .optional()
      .describe('redacted by value everywhere output lands; passed to commands through the environment, never argv'),
  })
  .describe('a typed parameter')

/**
 * Conditions are structured (never evaluated code): one key per object, combined with all/any/not.
 * String values may reference params ({{ params.x }}), never data returned by hosts.
 */
export type Condition = {[k: string]: unknown}
export const conditionSchema: z.ZodType<Condition> = z.lazy(() =>
  z.union([
    z.strictObject({healthy: z.boolean()}),
    z.strictObject({quorum: z.boolean()}),
    z.strictObject({'leader-is': z.string()}),
    z.strictObject({'leader-is-not': z.string()}),
    z.strictObject({'member-present': z.string()}),
    z.strictObject({'member-absent': z.string()}),
    z.strictObject({'member-healthy': z.string()}),
    z.strictObject({'member-learner': z.string()}),
    z.strictObject({'caught-up': z.string(), 'max-lag': z.number().int().nonnegative().optional()}),
    z.strictObject({'service-active': z.string(), component: z.string().optional()}),
    z.strictObject({'service-inactive': z.string(), component: z.string().optional()}),
    z.strictObject({param: z.string(), equals: z.union([z.string(), z.number(), z.boolean()]).optional()}),
    z.strictObject({command: z.string(), on: z.union([z.string(), z.array(z.string())]).optional()}),
    z.strictObject({all: z.array(conditionSchema)}),
    z.strictObject({any: z.array(conditionSchema)}),
    z.strictObject({not: conditionSchema}),
  ]),
)

const onFailure = z.union([z.enum(['abort', 'continue']), z.strictObject({rescue: z.array(z.lazy(() => stepSchema))})])

/**
 * A step as written (the YAML form): one flat object whose kind-specific fields are all optional,
 * so the file format and its JSON Schema stay as they are. The loader checks the fields each kind
 * needs (errors at file:line) and then hands out the typed `Step` below.
 */
export interface RawStep extends StepCommon {
  kind: StepKindName
  on_failure?: 'abort' | 'continue' | {rescue: RawStep[]}
  command?: string
  sudo?: boolean
  service?: string
  verb?: 'start' | 'stop' | 'restart' | 'is-active'
  condition?: Condition
  interval?: string | number
  action?: ActionName
  with?: Record<string, string | number | boolean>
  instructions?: string
  runbook?: string
  params?: Record<string, string | number | boolean>
}

export type StepKindName = (typeof STEP_KINDS)[number]
export type ActionName = (typeof ACTIONS)[number]
type Scalar = string | number | boolean

/** What every step kind has: identity, targets, gating, retries and the failure policy. */
interface StepCommon {
  id: string
  name?: string
  on?: string | string[]
  serial?: number | 'tolerance'
  order?: 'as-listed' | 'leader-last'
  when?: Condition
  retries?: number
  until?: Condition
  delay?: string | number
  timeout?: string | number
  confirm?: boolean | string
  destructive?: boolean
}

interface StepBase extends StepCommon {
  on_failure?: 'abort' | 'continue' | {rescue: Step[]}
}

/** A shell command on each target (over SSH). */
export interface RunStep extends StepBase {
  kind: 'run'
  command: string
  sudo?: boolean
}
/** A shell command on this machine. */
export interface LocalStep extends StepBase {
  kind: 'local'
  command: string
}
/** A service verb (systemctl or the context's service command) on each target. */
export interface ServiceStep extends StepBase {
  kind: 'service'
  service: string
  verb: 'start' | 'stop' | 'restart' | 'is-active'
}
/** Read-only: a condition over the cluster, or a command on the targets (exit 0 = true). */
export interface CheckStep extends StepBase {
  kind: 'check'
  condition?: Condition
  command?: string
  sudo?: boolean
}
/** Polls its condition (or command) until it holds or the timeout passes. */
export interface WaitStep extends StepBase {
  kind: 'wait'
  condition: Condition
  command?: string
  sudo?: boolean
  interval?: string | number
}
/** A built-in action (src/runbook/actions.ts). */
export interface ActionStep extends StepBase {
  kind: 'action'
  action: ActionName
  with?: Record<string, Scalar>
}
/** Instructions for the operator, confirmed by hand. */
export interface ManualStep extends StepBase {
  kind: 'manual'
  instructions: string
}
/** Another runbook, included with its params. */
export interface IncludeStep extends StepBase {
  kind: 'runbook'
  runbook: string
  params?: Record<string, Scalar>
}

/** One step type per kind: what the executor runs. */
export type Step = RunStep | LocalStep | ServiceStep | CheckStep | WaitStep | ActionStep | ManualStep | IncludeStep
export type StepOfKind<K extends StepKindName> = Extract<Step, {kind: K}>

/** The fields each kind needs beyond the common ones (the loader reports a missing one at file:line). */
export const REQUIRED_FIELDS: {[K in StepKindName]: (keyof RawStep)[]} = {
  run: ['command'],
  local: ['command'],
  service: ['service', 'verb'],
  check: [],
  wait: ['condition'],
  action: ['action'],
  manual: ['instructions'],
  runbook: ['runbook'],
}

/** True when S (and its rescue steps) has every field its kind needs: it is a typed Step. */
export function isTypedStep(s: RawStep): s is Step {
  if (!REQUIRED_FIELDS[s.kind].every((f) => s[f] !== undefined)) return false
  if (s.kind === 'check' && s.condition === undefined && s.command === undefined) return false
  return typeof s.on_failure !== 'object' || s.on_failure.rescue.every(isTypedStep)
}

export const stepSchema: z.ZodType<RawStep> = z.lazy(() =>
  z.strictObject({
    id: z.string().regex(ID_RE, 'lower-case letters, digits, "-" and "_"'),
    name: z.string().optional(),
    kind: z.enum(STEP_KINDS),
    on: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .describe(
        'targets, resolved live before the step: all, leader, followers, node:NAME, role:ROLE, local, or a node param',
      ),
    serial: z
      .union([z.number().int().min(1), z.literal('tolerance')])
      .optional()
      .describe('batch size for rolling work; "tolerance" derives it from the failure tolerance'),
    order: z.enum(['as-listed', 'leader-last']).optional(),
    when: conditionSchema.optional(),
    retries: z
      .number()
      .int()
      .min(0)
      .max(100)
      .optional()
      .describe('retries after a command failure (connection failures are always retried)'),
    until: conditionSchema.optional().describe('retry the step until this holds'),
    delay: duration.optional().describe('pause between retries'),
    timeout: duration.optional(),
    confirm: z.union([z.boolean(), z.string()]).optional(),
    destructive: z.boolean().optional().describe('needs a recent verified snapshot, or --force'),
    on_failure: onFailure.optional(),
    command: z.string().optional(),
    sudo: z.boolean().optional(),
    service: z.string().optional(),
    verb: z.enum(['start', 'stop', 'restart', 'is-active']).optional(),
    condition: conditionSchema.optional(),
    interval: duration.optional(),
    action: z.enum(ACTIONS).optional(),
    with: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    instructions: z.string().optional(),
    runbook: z.string().optional(),
    params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  }),
)

export const runbookSchema = z.strictObject({
  apiVersion: z.literal('plasmactl/v1'),
  kind: z.literal('Runbook'),
  metadata: z.strictObject({
    name: z.string().min(1),
    description: z.string().optional(),
    component: z.string().optional(),
    mutating: z.boolean().optional().describe('default true: takes the cluster lock'),
    'max-snapshot-age': duration
      .optional()
      .describe('how recent a verified snapshot destructive steps need (default 24h)'),
  }),
  params: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'lower-case letters, digits and "_"'), paramSchema).optional(),
  preconditions: z.array(conditionSchema).optional(),
  steps: z.array(stepSchema).min(1),
})

/** A runbook as written (steps untyped). */
export type RawRunbook = z.infer<typeof runbookSchema>
/** A linted runbook: every step typed by its kind. */
export type Runbook = Omit<RawRunbook, 'steps'> & {steps: Step[]}
export type ParamSpec = z.infer<typeof paramSchema>
