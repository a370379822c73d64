/** The safety checks of a runbook run that --force NAME overrides, one at a time (never all at once). */
export const RUNBOOK_OVERRIDES = ['precondition', 'quorum', 'snapshot'] as const
export type OverrideCheck = (typeof RUNBOOK_OVERRIDES)[number]
