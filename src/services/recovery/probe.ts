import type {NodeSpec} from '../../config/schema.js'
import type {Remote} from '../remote.js'
import {shellQuote} from '../../shell-quote.js'

/**
 * What a stopped member's data directory holds, read offline on its node.
 *
 * How: copy DATA/member next to it, start a short-lived `etcd --force-new-cluster` on the copy with
 * client and peer URLs on 127.0.0.1 ports of its own, ask it for `endpoint status`, stop it with
 * SIGTERM. Why not read bbolt's meta bucket (consistent_index) or the key bucket's newest revision:
 * a member that was killed has entries in its WAL that never reached member/snap/db (the backend
 * commits in batches), so the db alone can be behind what the member acknowledged. etcd replaying
 * its own WAL is the only reader that sees exactly what the member would serve, and it also proves
 * the directory is loadable. --force-new-cluster makes the copy a one-member cluster that never dials
 * the old peers; the stop is graceful, so the copy's db then holds every applied entry and is itself
 * a restorable database (member/snap/db of the copy).
 */
export interface DataDirProbe {
  /** No member/snap/db in the data dir (removed, or never initialised). */
  empty: boolean
  revision?: number
  /** Hex, as the API prints it. */
  clusterId?: string
  memberId?: string
  /** The copy (kept only when asked): PROBE/member/snap/db is the database to restore. */
  probeDir?: string
  dbPath?: string
}

/** Exit codes of the probe script that mean something to the caller. */
const EMPTY = 10

export function probeDirOf(dataDir: string, runTag: string): string {
  return `${dataDir}.probe-${runTag}`
}

/** The probe as one POSIX sh script (runs as the SSH user; needs etcd and etcdctl on PATH). */
export function probeScript(dataDir: string, probeDir: string, keep: boolean): string {
  const D = shellQuote(dataDir)
  const P = shellQuote(probeDir)
  return `set -u
D=${D}
P=${P}
[ -f "$D/member/snap/db" ] || { echo "no member/snap/db in $D" >&2; exit ${EMPTY}; }
E=$(command -v etcd) || { echo "etcd is not on PATH" >&2; exit 11; }
C=$(command -v etcdctl) || { echo "etcdctl is not on PATH" >&2; exit 11; }
rm -rf "$P" && mkdir -p "$P" && chmod 700 "$P" && cp -a "$D/member" "$P/member" || exit 12
alive() {
  [ -r "/proc/$1/stat" ] || return 1
  read -r st <"/proc/$1/stat" 2>/dev/null || return 1
  rest=\${st##*) }
  [ "\${rest%% *}" != Z ]
}
try=0
while [ $try -lt 5 ]; do
  try=$((try + 1))
  port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 ))
  peer=$((port + 1))
  env -u ETCD_NAME -u ETCD_DATA_DIR -u ETCD_INITIAL_CLUSTER -u ETCD_INITIAL_CLUSTER_STATE "$E" --name probe --data-dir "$P" --force-new-cluster \\
    --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \\
    --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \\
    </dev/null >>"$P/probe.log" 2>&1 &
  pid=$!
  i=0
  while alive $pid && [ $i -lt 300 ]; do
    if out=$(ETCDCTL_API=3 "$C" --endpoints "127.0.0.1:$port" --command-timeout=2s endpoint status -w json 2>/dev/null); then
      kill -TERM $pid
      wait $pid
      echo "$out"
      ${keep ? '' : 'rm -rf "$P"'}
      exit 0
    fi
    sleep 0.1
    i=$((i + 1))
  done
  kill -KILL $pid 2>/dev/null
  wait $pid 2>/dev/null
done
tail -n 5 "$P/probe.log" >&2
rm -rf "$P"
exit 13
`
}

/** Parses `etcdctl endpoint status -w json` (ids are uint64: read them as text, never as doubles). */
export function parseEndpointStatus(json: string): {revision: number; clusterId: string; memberId: string} {
  const field = (k: string) => new RegExp(`"${k}":\\s*(\\d+)`).exec(json)?.[1]
  const revision = field('revision')
  const cluster = field('cluster_id')
  const member = field('member_id')
  if (revision === undefined || cluster === undefined)
    throw new Error(`unexpected endpoint status output: ${json.slice(0, 200)}`)
  return {
    revision: Number(revision),
    clusterId: BigInt(cluster).toString(16),
    memberId: member === undefined ? '0' : BigInt(member).toString(16),
  }
}

export async function probeDataDir(
  remote: Remote,
  node: NodeSpec,
  dataDir: string,
  runTag: string,
  keep: boolean,
): Promise<DataDirProbe> {
  const probeDir = probeDirOf(dataDir, runTag)
  const r = await remote.exec(node, 'sh -s', {stdin: probeScript(dataDir, probeDir, keep), timeoutMs: 120_000})
  if (r.exitCode === EMPTY) return {empty: true}
  if (r.exitCode !== 0)
    throw new Error(
      `probe of ${dataDir} failed (exit ${r.exitCode}): ${(r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join('; ')}`,
    )
  const s = parseEndpointStatus(r.stdout)
  return {
    empty: false,
    ...s,
    probeDir: keep ? probeDir : undefined,
    dbPath: keep ? `${probeDir}/member/snap/db` : undefined,
  }
}
