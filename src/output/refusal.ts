import type {RefusalReason} from '../errors.js'

interface PlanLike {
  summary?: unknown
  steps?: {describe?: unknown}[]
  remove?: PlanLike
  add?: PlanLike
}

/**
 * The lines under a refusal's headline: with several reasons one reason a line, each check's
 * override named once (after its last reason) and each hint once; then the plan that was refused.
 */
export function renderRefusal(details: Record<string, unknown>): string[] {
  const reasons = Array.isArray(details.checks) ? (details.checks as RefusalReason[]) : []
  const lines: string[] = []
  if (reasons.length > 1) {
    const hints = new Set<string>()
    reasons.forEach((r, i) => {
      const last = !reasons.slice(i + 1).some((o) => o.override && o.override === r.override)
      const extra = [
        ...(r.override && last ? [`override: ${r.override}`] : []),
        ...(r.hint && !hints.has(r.hint) ? [r.hint] : []),
      ]
      if (r.hint) hints.add(r.hint)
      lines.push(`  - ${r.message}${extra.length ? ` (${extra.join('; ')})` : ''}`)
    })
  }
  const plan = details.plan as PlanLike | undefined
  if (plan && typeof plan.summary === 'string') {
    lines.push(`refused plan: ${plan.summary}`)
    const steps = [...(plan.remove?.steps ?? []), ...(plan.add?.steps ?? []), ...(plan.steps ?? [])]
    steps.forEach((s, i) => {
      const d = Array.isArray(s.describe) ? s.describe.join('; ') : String(s.describe ?? '')
      lines.push(`  ${String(i + 1).padStart(2)}. ${d}`)
    })
  }
  return lines
}

/** The hint under a refusal listed reason by reason: the overrides are on their lines already. */
export const LISTED_REFUSAL_HINT = 'an override skips only its own check: use one only if you know why it is safe'
