#!/usr/bin/env node
// Builds dist/plasmactl, a single executable (Linux x64): the compiled CLI (dist/, from
// scripts/build.sh) bundled with its dependencies into one script by esbuild, made into a Node
// single-executable application with the Node that runs this script (nothing is downloaded), the
// blob injected by postject. The package root's files (templates, runbooks, schemas, manifest) go
// in as one SEA asset; bin/exe/main.js writes them to a cache directory on the first run.
// Usage: node scripts/build-exe.mjs (after scripts/build.sh), or npm run build:exe
import {execFileSync, spawn, spawnSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {createRequire} from 'node:module'
import {copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join, relative, sep} from 'node:path'
import {fileURLToPath, pathToFileURL} from 'node:url'
import * as esbuild from 'esbuild'

const root = fileURLToPath(new URL('..', import.meta.url))
const dist = join(root, 'dist')
const work = join(dist, 'exe')
const out = join(dist, 'plasmactl')
const t0 = Date.now()

const walk = (dir) =>
  readdirSync(dir, {withFileTypes: true}).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  )
const rel = (p) => relative(root, p).split(sep).join('/')

/** A one-member etcd in DIR for the code-cache warm-up, if etcd is installed and serves within 15 s. */
async function startWarmEtcd(dir) {
  if (spawnSync('etcd', ['--version'], {stdio: 'ignore'}).status !== 0) return undefined
  // The CLI's own helper (dist/ is built before this script runs).
  const {freePort} = await import(pathToFileURL(join(dist, 'adapters', 'exec', 'ports.js')).href)
  const [client, peer] = [await freePort(), await freePort()]
  const url = `http://127.0.0.1:${client}`
  const peerUrl = `http://127.0.0.1:${peer}`
  const child = spawn(
    'etcd',
    [
      `--name=warm`,
      `--data-dir=${dir}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=warm=${peerUrl}`,
      '--log-level=error',
    ],
    {stdio: 'ignore'},
  )
  const stop = () => child.kill('SIGKILL')
  for (const until = Date.now() + 15_000; Date.now() < until && child.exitCode === null;) {
    const ok = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    )
    if (ok) return {url, stop}
    await new Promise((r) => setTimeout(r, 100))
  }
  stop()
  console.error('build-exe: etcd did not start: the code cache is made against an endpoint that refuses')
  return undefined
}

// 1. The package root's files, with a package.json whose oclif section suits the bundle: commands
//    come from one (virtual) module, and no plugins are looked up in node_modules.
const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
pjson.oclif = {
  ...pjson.oclif,
  commands: {strategy: 'explicit', target: './dist/index.js', identifier: 'COMMANDS'},
  plugins: [],
}
delete pjson.devDependencies
delete pjson.scripts
const files = {
  'package.json': `${JSON.stringify(pjson, null, 2)}\n`,
  'oclif.manifest.json': readFileSync(join(root, 'oclif.manifest.json'), 'utf8'),
}
for (const dir of ['templates', 'runbooks', 'schemas'])
  for (const f of walk(join(root, dir)).sort()) files[rel(f)] = readFileSync(f, 'utf8')
// The lab's FlareDB store stand-in (templates/lab/flaredb-store.mjs) runs under PATH's node and
// imports @grpc/grpc-js, which the executable has no node_modules for: one bundled file beside it.
const grpcVendor = await esbuild.build({
  entryPoints: [createRequire(join(root, 'package.json')).resolve('@grpc/grpc-js')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  minify: true,
  charset: 'ascii',
  legalComments: 'none',
  logLevel: 'warning',
  write: false,
})
files['templates/lab/grpc-js.cjs'] = grpcVendor.outputFiles[0].text
const rootJson = JSON.stringify({files})
const rootHash = createHash('sha256').update(rootJson).digest('hex').slice(0, 16)
rmSync(work, {recursive: true, force: true})
mkdirSync(work, {recursive: true})
writeFileSync(join(work, 'root.json'), rootJson)

// 2. The bundle. Every command is a lazy getter, so a run initializes only the modules it uses
//    (dynamic import() in src/ stays lazy too: esbuild turns it into a deferred module init).
const commandFiles = walk(join(dist, 'commands'))
  .filter((f) => f.endsWith('.js'))
  .sort()
const commandId = (f) => relative(join(dist, 'commands'), f).replace(/\.js$/, '').split(sep).join(':')
const hookFiles = walk(join(dist, 'hooks')).filter((f) => f.endsWith('.js'))
const modulesSource = [
  'const COMMANDS = {}',
  ...commandFiles.map(
    (f) =>
      `Object.defineProperty(COMMANDS, ${JSON.stringify(commandId(f))}, {enumerable: true, get: () => require(${JSON.stringify(`./${relative(dist, f)}`)}).default})`,
  ),
  'export const modules = {',
  "  'dist/index.js': () => ({COMMANDS}),",
  ...hookFiles.map((f) => `  ${JSON.stringify(rel(f))}: () => require(${JSON.stringify(`./${relative(dist, f)}`)}),`),
  '}',
].join('\n')

/** import.meta.url of a file under dist/, as it would be under the package root at run time. */
const distFiles = {
  name: 'plasmactl-dist',
  setup(build) {
    build.onResolve({filter: /^plasmactl:modules$/}, () => ({path: 'modules', namespace: 'plasmactl'}))
    build.onLoad({filter: /.*/, namespace: 'plasmactl'}, () => ({
      contents: modulesSource,
      resolveDir: dist,
      loader: 'js',
    }))
    // oclif reads tsconfig.json with typescript only in development: not bundled (10 MB).
    build.onResolve({filter: /^typescript$/}, () => ({path: 'typescript', namespace: 'plasmactl-absent'}))
    build.onLoad({filter: /.*/, namespace: 'plasmactl-absent'}, (args) => ({
      contents: `throw Object.assign(new Error(${JSON.stringify(`${args.path} is not bundled into plasmactl`)}), {code: 'MODULE_NOT_FOUND'})`,
      loader: 'js',
    }))
    build.onResolve({filter: /\/module-loader$/}, (args) =>
      args.importer.includes(`${sep}@oclif${sep}core${sep}`)
        ? {path: join(root, 'bin', 'exe', 'module-loader.js')}
        : undefined,
    )
    build.onLoad({filter: /\.js$/}, (args) => {
      if (!args.path.startsWith(dist + sep)) return undefined
      let text = readFileSync(args.path, 'utf8')
      // A dynamic import() of a package that is a chunk: the executable's embedded script has no
      // dynamic-import callback, so it becomes the chunk's require (still loaded only on that path).
      const lazy = new RegExp(
        `\\bimport\\((['"])(${Object.values(CHUNKS)
          .flat()
          .map((x) => x.replaceAll(/[.*+?^${}()|[\]\\/]/g, '\\$&'))
          .join('|')})\\1\\)`,
        'g',
      )
      const hasLazy = lazy.test(text)
      if (!text.includes('import.meta.url') && !hasLazy) return undefined
      text = text.replaceAll(lazy, 'Promise.resolve().then(() => require($1$2$1))')
      // A require resolved at build time is bundled (the generated protobuf codecs).
      text = text.replaceAll(/createRequire\(import\.meta\.url\)\((['"][^'"]+['"])\)/g, 'require($1)')
      text = text.replaceAll('import.meta.url', `__plasmactlFileUrl(${JSON.stringify(rel(args.path))})`)
      return {contents: text, loader: 'js', resolveDir: dirname(args.path)}
    })
  },
}

/** oclif sorts the commands of a plugin with localeCompare on every start, and the first
 *  localeCompare of a process loads ICU's collation (15–45 ms of a cold start). For plasmactl's
 *  command ids code-unit order is the same order (checked here, so the executable lists commands
 *  as the npm install does); the sort uses it. */
const oclifSort = {
  name: 'plasmactl-oclif-sort',
  setup(build) {
    build.onLoad({filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/]config[\\/]plugin\.js$/}, (args) => {
      const text = readFileSync(args.path, 'utf8')
      const sort = '.sort((a, b) => a.id.localeCompare(b.id))'
      if (!text.includes(sort))
        throw new Error(`${args.path}: the command sort to replace is not there (oclif changed)`)
      const ids = Object.keys(JSON.parse(files['oclif.manifest.json']).commands)
      // eslint-disable-next-line no-restricted-properties -- the order the executable must keep
      const locale = [...ids].sort((a, b) => a.localeCompare(b))
      if (locale.join() !== [...ids].sort().join())
        throw new Error('command ids sort differently by code unit and by locale: keep oclif sort')
      return {contents: text.replace(sort, '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))'), loader: 'js'}
    })
  },
}

// Packages only some commands use, each bundled apart (a SEA asset compiled on first require), so
// that every start does not read and compile them: S3 (snapshot targets), prompts, SSH, zod (config
// validation), execa. The rest (oclif, gRPC for health, the app) is the main bundle.
const CHUNKS = {
  aws: ['@aws-sdk/client-s3', '@aws-sdk/lib-storage'],
  prompts: ['@inquirer/prompts'],
  ssh: ['ssh2'],
  zod: ['zod'],
  execa: ['execa'],
  // drill reports: Vega-Lite compiled and rendered headless to SVG (no canvas: see noCanvas).
  vega: ['vega', 'vega-lite'],
}
/** vega-canvas's Node build awaits an optional `canvas` add-on at top level (not expressible in CJS);
 *  SVG rendering needs no canvas, so the chunk gets vega-canvas's "not available" answers. */
const noCanvas = {
  name: 'plasmactl-no-canvas',
  setup(build) {
    build.onResolve({filter: /^vega-canvas$/}, () => ({path: 'vega-canvas', namespace: 'plasmactl-no-canvas'}))
    build.onLoad({filter: /.*/, namespace: 'plasmactl-no-canvas'}, () => ({
      contents: 'export function canvas() { return null }\nexport function image() { return null }',
      loader: 'js',
    }))
  },
}
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: `node${process.versions.node.split('.')[0]}`,
  // Optional native add-ons (ssh2's crypto binding, cpu-features): their require is in a try block
  // and the pure-JS fallback is used.
  external: ['*.node', 'cpu-features'],
  minify: true,
  keepNames: true,
  charset: 'ascii',
  legalComments: 'none',
  logLevel: 'warning',
}
for (const [name, specifiers] of Object.entries(CHUNKS)) {
  await esbuild.build({
    ...common,
    stdin: {
      contents: `module.exports = {${specifiers.map((x) => `${JSON.stringify(x)}: require(${JSON.stringify(x)})`).join(', ')}}`,
      resolveDir: root,
      loader: 'js',
    },
    outfile: join(work, `chunk-${name}.js`),
    plugins: [noCanvas],
    banner: {js: '(function (require, module, exports, __filename, __dirname) {'},
    footer: {js: '})'},
  })
}
const chunkOf = Object.fromEntries(
  Object.entries(CHUNKS).flatMap(([name, specifiers]) => specifiers.map((x) => [x, name])),
)
writeFileSync(join(work, 'chunks.json'), JSON.stringify(chunkOf))

const timing = process.env.PLASMACTL_EXE_TIMING
  ? 'const __t0 = performance.now(), __c0 = process.cpuUsage(); process.on("exit", () => { const c = process.cpuUsage(); process.stderr.write(`timing: bundle starts at ${__t0.toFixed(1)} ms (cpu ${((__c0.user + __c0.system) / 1000).toFixed(1)}), exit at ${performance.now().toFixed(1)} ms (cpu ${((c.user + c.system) / 1000).toFixed(1)})\\n`) });\n'
  : ''
const result = await esbuild.build({
  ...common,
  entryPoints: [join(root, 'bin', 'exe', 'main.js')],
  external: [...common.external, ...Object.keys(chunkOf)],
  outfile: join(work, 'plasmactl.js'),
  plugins: [distFiles, oclifSort],
  define: {__PLASMACTL_ROOT_HASH__: JSON.stringify(rootHash)},
  // The bundle is one function expression (bin/exe/boot.cjs compiles and calls it).
  banner: {
    js: [
      '(function (require, __filename, __plasmactlAsset) {',
      'const module = {exports: {}}, exports = module.exports, __dirname = require("node:path").dirname(__filename);',
      timing,
      // Before @oclif/core loads: plasmactl's own Node is known, skip oclif's engine check.
      'process.env.OCLIF_DISABLE_ENGINE_WARNING ??= "1";',
      'const __plasmactlFileUrl = (rel) => require("node:url").pathToFileURL(require("node:path").join(globalThis.__plasmactlRoot, rel)).href;',
    ].join('\n'),
  },
  footer: {js: '})'},
  metafile: true,
})
writeFileSync(join(work, 'meta.json'), JSON.stringify(result.metafile))

// The executable's main script: bin/exe/boot.cjs with bin/fast-path.js (--help, --version).
const boot = join(work, 'boot.cjs')
await esbuild.build({...common, entryPoints: [join(root, 'bin', 'exe', 'boot.cjs')], outfile: boot, minify: false})

// 3. The help texts (plain, 80 columns: the environment oclif renders them in at run time for
//    bin/fast-path.js), then the code cache: the bundle run (by the build's Node, as the executable
//    will run it) for --version, --help and a health check, then the compiled code saved. The health
//    check asks a throwaway one-member etcd when the build machine has etcd (with one snapshot saved
//    first, so the backups probe finds it): the cache then holds the code of a healthy cluster's
//    check, which is what a cold `health` runs (10–15 ms less than a cache made against an endpoint
//    that refuses, which holds the retry and error paths instead). Without etcd, that endpoint.
const warm = mkdtempSync(join(tmpdir(), 'plasmactl-exe-'))
const etcd = await startWarmEtcd(join(warm, 'etcd'))
try {
  const clientUrl = etcd?.url ?? 'http://127.0.0.1:9'
  writeFileSync(
    join(warm, 'config.yaml'),
    `apiVersion: plasmactl/v1\ncurrent-context: warm\ncontexts:\n  - name: warm\n    environment: lab\n    nodes:\n      - name: n1\n        address: 127.0.0.1\n        roles: [chainfire]\n        chainfire:\n          client-url: ${clientUrl}\n    snapshots:\n      targets:\n        - file://${join(warm, 'snapshots')}\n`,
  )
  const env = {
    ...process.env,
    OCLIF_COLUMNS: '80',
    NO_COLOR: '1',
    XDG_CACHE_HOME: join(warm, 'cache'),
    PLASMACTL_CONFIG: join(warm, 'config.yaml'),
    PLASMACTL_STATE_DIR: join(warm, 'state'),
    PLASMACTL_CONTEXT: '',
    NODE_OPTIONS: '',
  }
  // The snapshot the backups probe lists (run without caches: its code is not what health runs).
  if (etcd && spawnSync(process.execPath, [boot, work, 'run', 'snapshot', 'save'], {env, stdio: 'ignore'}).status !== 0)
    console.error('build-exe: the warm-up snapshot failed: the code cache holds a check that finds no snapshot')
  // Without etcd, health exits non-zero (the endpoint refuses): only the cache file matters.
  spawnSync(process.execPath, [boot, work, 'write-caches'], {
    env: {
      ...env,
      PLASMACTL_EXE_HELP_OUT: join(work, 'help.json'),
      PLASMACTL_EXE_WARMUP: JSON.stringify([['--version'], ['--help'], ['health', '--json']]),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  statSync(join(work, 'plasmactl.cache'))
  statSync(join(work, 'help.json'))
} finally {
  etcd?.stop()
  rmSync(warm, {recursive: true, force: true})
}

// 4. The single-executable blob, then the executable: a copy of this Node with the blob injected.
const seaConfig = {
  main: boot,
  output: join(work, 'sea-prep.blob'),
  disableExperimentalSEAWarning: true,
  useCodeCache: true,
  assets: Object.fromEntries(
    readdirSync(work)
      .filter((f) => /\.(js|cache)$/.test(f) || ['root.json', 'chunks.json', 'help.json'].includes(f))
      .map((f) => [f, join(work, f)]),
  ),
}
writeFileSync(join(work, 'sea-config.json'), JSON.stringify(seaConfig, null, 2))
execFileSync(process.execPath, ['--experimental-sea-config', join(work, 'sea-config.json')], {
  stdio: ['ignore', 'ignore', 'inherit'],
})
rmSync(out, {force: true})
copyFileSync(process.execPath, out)
// Debian's node carries its symbols (~12 MiB): strip them when binutils is there.
spawnSync('strip', [out], {stdio: 'ignore'})
execFileSync(
  process.execPath,
  [
    join(root, 'node_modules', 'postject', 'dist', 'cli.js'),
    out,
    'NODE_SEA_BLOB',
    seaConfig.output,
    '--sentinel-fuse',
    'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
  ],
  {stdio: ['ignore', 'ignore', 'ignore']},
)
const mib = (p) => (statSync(p).size / 2 ** 20).toFixed(1)
console.error(
  `build-exe: ${rel(out)} ${mib(out)} MiB (main bundle ${mib(join(work, 'plasmactl.js'))} MiB, ${Object.keys(CHUNKS).length} chunks ${(
    readdirSync(work)
      .filter((f) => f.startsWith('chunk-') && f.endsWith('.js'))
      .reduce((a, f) => a + statSync(join(work, f)).size, 0) /
    2 ** 20
  ).toFixed(
    1,
  )} MiB, code cache ${mib(join(work, 'plasmactl.cache'))} MiB, Node ${process.version}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
)
