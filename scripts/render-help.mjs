#!/usr/bin/env node
// Writes dist/help.json: oclif's help for the root, every command and topic, as bin/fast-path.js
// serves it (src/output/help-texts.ts). Run by scripts/build.sh after the manifest.
// Usage: node scripts/render-help.mjs [ROOT] [OUT]
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'

// Before @oclif/core loads: its width for a non-terminal stdout, and no colour.
process.env.OCLIF_COLUMNS = '80'
process.env.NO_COLOR = '1'
const root = process.argv[2] ?? fileURLToPath(new URL('..', import.meta.url))
const out = process.argv[3] ?? join(root, 'dist', 'help.json')
const {Config} = await import('@oclif/core')
const {renderHelpTexts} = await import(join(root, 'dist', 'output', 'help-texts.js'))
const texts = await renderHelpTexts(await Config.load(root))
writeFileSync(out, JSON.stringify(texts))
