import {Args} from '@oclif/core'
import {BaseCommand} from '../../base-command.js'
import {ConfigValidationError} from '../../config/validate.js'
import {setExitCode} from '../../errors.js'
import {configFileFrom} from '../../services/config/path.js'
import {formatProblem, validateConfigFile, type ValidateResult} from '../../services/config/validate.js'

export default class ConfigValidate extends BaseCommand<typeof ConfigValidate> {
  static override summary = 'Check a config file and list every problem as file:line:col'
  static override description =
    'Exits 0 when the file is valid and 2 when it is not. With --json, the error envelope carries error.location (the first problem) and error.details.problems (all of them).'
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> ./staging.yaml',
    '<%= config.bin %> <%= command.id %> ./staging.yaml --json | jq .error.details.problems',
  ]

  static override args = {
    file: Args.string({description: 'config file to check (default: the config in use)'}),
  }

  public async run(): Promise<ValidateResult | {path: string; valid: false; problems: number}> {
    const path = configFileFrom(this.args.file ?? this.flags.config)
    try {
      const result = await validateConfigFile({path})
      return result
    } catch (error) {
      // --json: the error envelope carries the problems; humans get one line per problem.
      if (!(error instanceof ConfigValidationError) || this.jsonEnabled()) throw error
      for (const p of error.problems) this.logToStderr(formatProblem(p))
      const total = error.problems.length + error.more
      this.logToStderr(
        `${path}: ${total} problem${total === 1 ? '' : 's'}${error.more > 0 ? ` (the first ${error.problems.length} listed, ${error.more} more)` : ''}`,
      )
      setExitCode('USAGE')
      return {path, valid: false, problems: total}
    }
  }

  protected override render(result: ValidateResult | {valid: false}): string | undefined {
    // An invalid file was reported problem by problem on stderr.
    if (!result.valid) return undefined
    return `${result.path}: valid (${result.contexts} context${result.contexts === 1 ? '' : 's'}, ${result.nodes} node${result.nodes === 1 ? '' : 's'})`
  }
}
