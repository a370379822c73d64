// ESLint 9 flat config: @eslint/js + typescript-eslint recommended, plus the architecture's hard rules.
import js from '@eslint/js'
import {defineConfig, globalIgnores} from 'eslint/config'
import tseslint from 'typescript-eslint'

// Node globals for the plain .js files (TypeScript checks its own); listed here to avoid a dependency.
const nodeGlobals = Object.fromEntries(
  [
    'AbortController',
    'AbortSignal',
    'Buffer',
    'URL',
    'URLSearchParams',
    'TextDecoder',
    'TextEncoder',
    'clearImmediate',
    'clearInterval',
    'clearTimeout',
    'console',
    'fetch',
    'global',
    'globalThis',
    'performance',
    'process',
    'queueMicrotask',
    'setImmediate',
    'setInterval',
    'setTimeout',
    'structuredClone',
  ].map((name) => [name, 'readonly']),
)

// Only adapters talk to the outside world; commands stay thin (DESIGN.md §3).
const WIRE_MODULES = ['ssh2', 'execa', '@grpc/grpc-js', 'etcd3']
const wireImportMessage = 'commands call services; only src/adapters/** may import ssh2, execa or gRPC clients'

/**
 * The layers of ARCHITECTURE.md, enforced over relative import paths: commands → services/runbook →
 * adapters and config → core; output and prompts beside them. Each entry: the files, the folders they may
 * not import, and why.
 */
const LAYERS = [
  {
    files: ['src/core/**/*.ts'],
    forbid: ['adapters', 'config', 'services', 'runbook', 'commands', 'output', 'prompts', 'hooks'],
    why: 'core holds the mechanisms every layer shares (atomic write, bounded concurrency, retry, the run engine: journal, step loop, abort, run kinds); it depends on nothing but errors',
  },
  {
    files: ['src/adapters/**/*.ts'],
    forbid: ['services', 'runbook', 'commands', 'output', 'prompts', 'hooks'],
    why: 'adapters talk to the wire and return typed data; they know nothing of services, commands or rendering',
  },
  {
    files: ['src/config/**/*.ts'],
    forbid: ['adapters', 'services', 'runbook', 'commands', 'output', 'prompts', 'hooks'],
    why: 'config is schema, loading and validation only',
  },
  {
    files: ['src/services/**/*.ts', 'src/runbook/**/*.ts'],
    ignores: ['src/runbook/run-flags.ts'],
    forbid: ['commands', 'prompts', 'hooks'],
    why: 'services take options and return data; prompts are asked by commands (or run-flags), never by services',
  },
  {
    files: ['src/output/**/*.ts'],
    forbid: ['adapters', 'commands', 'prompts', 'hooks'],
    why: 'renderers turn result data into text; they do not fetch anything',
  },
  {
    files: ['src/prompts/**/*.ts'],
    forbid: ['adapters', 'commands', 'hooks'],
    why: 'prompts ask questions; they do not act',
  },
]

function layerRule({files, ignores, forbid, why}) {
  return {
    files,
    ...(ignores ? {ignores} : {}),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {regex: `^(\\.\\.?/)+(.*/)?(${forbid.join('|')})/`, message: `layer rule: ${why} (ARCHITECTURE.md)`},
          ],
        },
      ],
    },
  }
}

export default defineConfig([
  globalIgnores(['dist/', 'node_modules/', 'src/adapters/chainfire/gen/', 'coverage/', '.lab/', 'bench/results/']),
  {
    files: ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.{ts,js,mjs}', 'scripts/**/*.{js,mjs}', 'bin/**/*.js', '*.js'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    languageOptions: {ecmaVersion: 2023, sourceType: 'module', globals: nodeGlobals},
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none'},
      ],
      // Exit codes come from the one table in src/errors.ts (setExitCode); exiting early loses output.
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'exit',
          message: 'set the exit code with setExitCode() from src/errors.ts (the one exit-code table)',
        },
        {
          property: 'localeCompare',
          message:
            'use compareText/compareNatural from src/core/compare.ts: localeCompare loads ICU collation on first use (a cold start pays 15-45 ms) and sorts by the locale',
        },
      ],
    },
  },
  ...LAYERS.map(layerRule),
  {
    // The fast path exists to run without oclif: neither oclif nor anything that loads it.
    files: ['src/fast/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{name: '@oclif/core', message: 'src/fast runs without oclif (ARCHITECTURE.md)'}],
          patterns: [
            {
              regex: '^(\\.\\.?/)+(.*/)?(commands|prompts|hooks)/|base-command',
              message: 'src/fast runs without oclif: no commands, prompts, hooks or BaseCommand (ARCHITECTURE.md)',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/errors.ts'],
    rules: {'no-restricted-properties': 'off'},
  },
  {
    files: ['src/commands/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: WIRE_MODULES.map((name) => ({name, message: wireImportMessage})),
          patterns: [
            {group: WIRE_MODULES.map((name) => `${name}/*`), message: wireImportMessage},
            {group: ['@inquirer/*', 'inquirer'], message: 'prompts live in src/prompts/, each answerable by a flag'},
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: `ImportExpression[source.value=/^(${WIRE_MODULES.map((m) => m.replaceAll('/', '\\/')).join('|')})(\\/|$)/]`,
          message: wireImportMessage,
        },
      ],
    },
  },
])
