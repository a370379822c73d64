import {BaseCommand} from '../../base-command.js'
import {resolveContext} from '../../config/context.js'
import {exitNameForStatus, setExitCode, UsageError} from '../../errors.js'
import {renderAuthStatus} from '../../output/components.js'
import {resolveToken, tokenFindings, tokenInfo, TOKEN_ENV, type TokenInfo} from '../../services/auth/index.js'
import {worst, type Finding, type Status} from '../../services/health/types.js'

export interface AuthStatusResult {
  status: Status
  token: TokenInfo
  findings: Finding[]
}

export default class AuthStatus extends BaseCommand<typeof AuthStatus> {
  static override summary =
    "Show the CLI's own IAM credentials: where the token comes from, who it names, when it expires"
  static override description = `The token comes from $${TOKEN_ENV}, the context's iam.token, or iam.token-command (first found). It is decoded without verifying it, for display only. Warns when it expires within an hour (exit 4); an expired token is critical (exit 5).`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    `${TOKEN_ENV}=$(cat token) <%= config.bin %> <%= command.id %> --json | jq .data.token.expiresAt`,
  ]

  public async run(): Promise<AuthStatusResult> {
    const {ctx} = await resolveContext(this.flags)
    const t = await resolveToken(ctx)
    if (!t)
      throw new UsageError(
        `no credentials: set $${TOKEN_ENV}, or iam.token / iam.token-command in context "${ctx.name}"`,
      )
    const token = tokenInfo(t)
    const findings = tokenFindings(token)
    const result = {status: worst(findings.map((f) => f.status)), token, findings}
    setExitCode(exitNameForStatus(result.status))
    return result
  }

  protected override render(result: AuthStatusResult): string {
    return renderAuthStatus(result)
  }
}
