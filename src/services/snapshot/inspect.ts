import {run, which} from '../../adapters/exec/index.js'
import {type CatalogOptions, locate, verifyDigest, type VerifyResult, withLocalCopy, withTargets} from './catalog.js'
import {digestFile} from './hash.js'

export interface InspectResult {
  verify: VerifyResult
  revision: number | null
  keyCount: number | null
  /** Where revision and key count come from: the manifest, or etcdctl reading the file itself. */
  detailsFrom: 'manifest' | 'etcdctl snapshot status' | 'none'
  /** What keyCount counts: the two sources count different things. */
  keysCounted: 'live-at-revision' | 'all-revisions' | null
  keysCountedText: string | null
}

const LIVE_KEYS =
  "keys live at the snapshot's revision (deleted keys and older versions not counted; plasmactl lock keys left out)"
const ALL_REVISIONS =
  'every key version stored in the file (etcdctl snapshot status totalKey: older versions and deletions of a key count too)'

/** Revision and key count from the manifest; for a bare file, from `etcdctl snapshot status` when installed. */
export async function inspectSnapshot(opts: CatalogOptions & {idOrFile: string}): Promise<InspectResult> {
  return withTargets(opts, async (targets) => {
    const loc = await locate(targets, opts.idOrFile)
    return withLocalCopy(loc, async (path, manifest) => {
      const digest = await digestFile(path)
      const checks = verifyDigest(digest, manifest)
      const verify = {
        id: loc.id,
        source: loc.file ?? loc.target!.url,
        ok: checks.every((c) => c.ok),
        digest,
        manifest,
        checks,
      }
      if (manifest)
        return {
          verify,
          revision: manifest.revision,
          keyCount: manifest.keyCount,
          detailsFrom: 'manifest' as const,
          keysCounted: 'live-at-revision' as const,
          keysCountedText: LIVE_KEYS,
        }
      const etcdctl = await which('etcdctl')
      if (etcdctl && verify.ok) {
        const r = await run(etcdctl, ['snapshot', 'status', path, '-w', 'json'], {
          env: {ETCDCTL_API: '3'},
          timeoutMs: 120_000,
        })
        if (r.exitCode === 0) {
          const s = JSON.parse(r.stdout) as {revision: number; totalKey: number}
          return {
            verify,
            revision: s.revision,
            keyCount: s.totalKey,
            detailsFrom: 'etcdctl snapshot status' as const,
            keysCounted: 'all-revisions' as const,
            keysCountedText: ALL_REVISIONS,
          }
        }
      }
      return {
        verify,
        revision: null,
        keyCount: null,
        detailsFrom: 'none' as const,
        keysCounted: null,
        keysCountedText: null,
      }
    })
  })
}
