/** The layer rules of ARCHITECTURE.md are enforced by lint: a forbidden import fails, an allowed one passes. */
import assert from 'node:assert/strict'
import {describe, test} from 'node:test'
import {ESLint} from 'eslint'
import {REPO_ROOT} from '../helpers/lab.js'

const eslint = new ESLint({cwd: REPO_ROOT})

async function layerErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, {filePath})
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message)
}

describe('import boundaries', () => {
  const cases: [string, string, boolean][] = [
    ['src/adapters/ssh/x.ts', "import {healthOf} from '../../services/health/index.js'", false],
    ['src/adapters/ssh/x.ts', "import {UsageError} from '../../errors.js'", true],
    ['src/config/x.ts', "import {run} from '../adapters/exec/index.js'", false],
    ['src/services/node/x.ts', "import Cmd from '../../commands/node/remove.js'", false],
    ['src/services/node/x.ts', "import {confirm} from '../../prompts/confirm.js'", false],
    ['src/services/node/x.ts', "import {run} from '../../adapters/exec/index.js'", true],
    ['src/runbook/x.ts', "import {confirm} from '../prompts/confirm.js'", false],
    ['src/output/x.ts', "import {SshClient} from '../adapters/ssh/index.js'", false],
    ['src/commands/x.ts', "import ssh2 from 'ssh2'", false],
    ['src/core/x.ts', "import {loadConfig} from '../config/load.js'", false],
    ['src/core/x.ts', "import {Remote} from '../services/remote.js'", false],
    ['src/core/x.ts', "import {UsageError} from '../errors.js'", true],
    ['src/adapters/s3/x.ts', "import {replaceAtomically} from '../../core/fs.js'", true],
  ]
  for (const [file, code, allowed] of cases) {
    test(`${file}: ${code} is ${allowed ? 'allowed' : 'refused'}`, async () => {
      const errors = await layerErrors(
        `${REPO_ROOT}/${file}`,
        `${code}\nexport const used = [${code
          .match(/\{(\w+)\}|import (\w+)/)!
          .slice(1)
          .find(Boolean)}]\n`,
      )
      assert.equal(errors.length === 0, allowed, errors.join('; '))
    })
  }
})
