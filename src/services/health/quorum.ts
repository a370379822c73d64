/** Raft quorum arithmetic, kept pure so it can be tested for every cluster size. */

/** Votes needed to elect a leader and commit: a strict majority of the voters. */
export function majority(voters: number): number {
  return Math.floor(voters / 2) + 1
}

/** True while the voters still up form a majority. */
export function hasQuorum(voters: number, down: number): boolean {
  if (voters <= 0) return false
  return voters - down >= majority(voters)
}

/** How many more voters can fail before quorum is lost (0 when it is already lost). */
export function failureTolerance(voters: number, down: number): number {
  if (!hasQuorum(voters, down)) return 0
  return voters - down - majority(voters)
}

/** Quorum impact of taking `removed` healthy voters away (stop or member removal). */
export function impactOfStopping(voters: number, down: number, stopped: number) {
  const up = voters - down - stopped
  return {
    upAfter: up,
    quorum: hasQuorum(voters, down + stopped),
    failureTolerance: failureTolerance(voters, down + stopped),
  }
}
