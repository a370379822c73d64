import {z} from 'zod'
import {ROLES} from './roles.js'
import {DURATION_PATTERN} from './duration.js'

/**
 * The config file schema (kubeconfig-like). The JSON Schema in schemas/config.schema.json is generated
 * from this at build time so editors can autocomplete it. Objects are strict: a typo is an error with
 * file:line, never silently ignored.
 */
const duration = z.union([
  z.string().regex(DURATION_PATTERN, 'expected a duration like 500ms, 5s, 2m30s, 1h'),
  z.number().nonnegative(),
])

export {ROLES} from './roles.js'

/**
 * Host names and SSH users reach shells (an OpenSSH ProxyCommand's %h and %r, commands on nodes), so
 * like OpenSSH 9.6 (CVE-2023-51385) plasmactl refuses shell metacharacters, spaces, non-ASCII and a
 * leading "-" in them. IPv6 addresses are written without brackets.
 */
export const SAFE_HOST_RE = /^(?!-)[\w.:-]+$/
export const SAFE_USER_RE = /^(?!-)[\w.-]+$/
export const SAFE_HOST_RULE =
  'a host name or IP address: letters, digits, ".", "-", "_" and ":", not starting with "-" (no shell metacharacters, spaces or non-ASCII)'
export const SAFE_USER_RULE = 'a user name: letters, digits, ".", "-" and "_", not starting with "-"'
const JUMP_HOSTS_RE = /^(?![\s,]*-)(?!.*,\s*-)[\w.:@,/[\] -]+$/

export const sshSettings = z
  .strictObject({
    user: z.string().regex(SAFE_USER_RE, SAFE_USER_RULE).optional(),
    port: z.number().int().min(1).max(65_535).optional(),
    'identity-file': z.string().optional(),
    'known-hosts': z.string().optional(),
    'jump-host': z
      .string()
      .regex(JUMP_HOSTS_RE, '[user@]host[:port] hops, comma-separated, with the characters of host and user names only')
      .optional()
      .describe(
        '[user@]host[:port] of a bastion to go through, comma-separated for a chain (ssh -J / ProxyJump); "none" ignores a ProxyJump or ProxyCommand from the SSH config',
      ),
    'config-file': z
      .string()
      .optional()
      .describe(
        'OpenSSH client config consulted for the node address (Host aliases: HostName, Port, User, IdentityFile, IdentitiesOnly, ProxyJump, ProxyCommand, UserKnownHostsFile, HostKeyAlias); default ~/.ssh/config, "none" to ignore',
      ),
    sudo: z.boolean().optional().describe('run service commands with sudo -n'),
    'connect-timeout': duration.optional(),
  })
  .describe('SSH settings; node-level values override context defaults')

export const serviceCommands = z
  .strictObject({
    unit: z.string().optional(),
    start: z.string().optional(),
    stop: z.string().optional(),
    restart: z.string().optional(),
    'is-active': z.string().optional(),
    kill: z
      .string()
      .optional()
      .describe('force-stop after the stop grace period (default: systemctl kill --signal=SIGKILL <unit>)'),
    enable: z.string().optional(),
    disable: z.string().optional().describe('keep the service from starting again (node removal)'),
    logs: z
      .string()
      .optional()
      .describe(
        "prints the service's recent log for plasmactl debug bundle; {unit} {node} {lines} {since} are replaced (default: journalctl -u {unit} --no-pager -n {lines} --since {since})",
      ),
  })
  .describe('commands run on the node; {unit} and {node} are replaced (default: systemctl <verb> <unit>)')

export const tlsSettings = z.strictObject({
  ca: z.string().optional().describe('CA bundle (PEM) that signed the server certificates'),
  cert: z.string().optional().describe('client certificate (PEM) for mutual TLS'),
  key: z.string().optional().describe('client private key (PEM) for mutual TLS'),
  'server-name': z.string().optional().describe('name to verify in the server certificate'),
})

export const plasmavmcSettings = z
  .strictObject({
    'run-dir': z
      .string()
      .optional()
      .describe(
        "directory of the VMs' QMP sockets on a host ({node} is replaced); QEMU processes with a socket under it and no record are orphans",
      ),
    'qmp-timeout': duration
      .optional()
      .describe('deadline of each QMP step (greeting, capabilities, query-status); default 2s'),
  })
  .describe('PlasmaVMC: VM records in ChainFire under /plasmavmc/vms/, QEMU on hosts with the role plasmavmc-host')

/** A URL with a scheme and a host: JSON Schema's `uri` format alone accepts "http://", the loader must not. */
const hostUrl = () =>
  z
    .string()
    .url()
    .regex(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#\s]+/, 'a URL with a host (scheme://host[:port]…)')

export const nodeSchema = z.strictObject({
  name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/, 'letters, digits, ".", "_" and "-"'),
  address: z.string().regex(SAFE_HOST_RE, SAFE_HOST_RULE),
  roles: z.array(z.enum(ROLES)).default([]),
  ssh: sshSettings.optional(),
  services: z.record(z.string(), serviceCommands).optional(),
  chainfire: z
    .strictObject({
      'client-url': hostUrl().optional(),
      'peer-url': hostUrl().optional(),
      'data-dir': z.string().optional(),
      'env-file': z
        .string()
        .optional()
        .describe("the member's ETCD_* environment file that node add writes join settings into"),
    })
    .optional(),
  removed: z.boolean().optional().describe('set by node removal; removed nodes are kept for the record'),
  plasmavmc: plasmavmcSettings.optional(),
})

const targetUrl = z
  .string()
  .regex(
    /^(file:\/\/|s3:\/\/|sftp:\/\/|\/|\.)/,
    'unsupported snapshot target: use file:///dir, s3://bucket/prefix, sftp://node/path or a path',
  )

export const snapshotTarget = z.union([
  targetUrl.describe('file:///dir, s3://bucket/prefix or sftp://node-or-host/path'),
  z.strictObject({
    url: targetUrl,
    endpoint: hostUrl().optional().describe('S3-compatible endpoint (default: AWS)'),
    region: z.string().optional(),
    'path-style': z.boolean().optional(),
    profile: z.string().optional().describe('shared credentials profile'),
    'access-key-id': z.string().optional(),
    'secret-access-key': z.string().optional(),
  }),
])

export const snapshotSettings = z
  .strictObject({
    targets: z
      .array(snapshotTarget)
      .optional()
      .describe('where snapshots go; the first is the primary (default: file:// in the state dir)'),
    retention: z
      .strictObject({
        'keep-last': z.number().int().min(1).optional(),
        hourly: z.number().int().min(0).optional(),
        daily: z.number().int().min(0).optional(),
        weekly: z.number().int().min(0).optional(),
        monthly: z.number().int().min(0).optional(),
      })
      .optional(),
    'prune-after-save': z.boolean().optional(),
    rpo: duration
      .optional()
      .describe('recovery-point objective: health warns when the newest verified snapshot is older'),
    'lock-ttl': duration.optional(),
  })
  .describe('ChainFire snapshots and backups')

export const contextSchema = z.strictObject({
  name: z.string().min(1),
  environment: z.enum(['production', 'staging', 'lab']),
  description: z.string().optional(),
  nodes: z.array(nodeSchema).default([]),
  ssh: sshSettings.optional(),
  chainfire: z
    .strictObject({
      endpoints: z.array(hostUrl()).optional().describe('client URLs; default: client-url of every chainfire node'),
      tls: tlsSettings.optional(),
      'dial-timeout': duration.optional(),
      'command-timeout': duration.optional(),
      'data-dir': z.string().optional(),
      'restore-command': z.string().optional(),
      'env-file': z
        .string()
        .optional()
        .describe(
          'ETCD_* environment file of each member (default /etc/chainfire/chainfire.env); node add writes join settings into it',
        ),
      'join-command': z
        .string()
        .optional()
        .describe(
          'instead of editing env-file: command run on the joining node; {name} {initial-cluster} {initial-cluster-state} {peer-url} {client-url} {data-dir} are replaced (shell-quoted)',
        ),
      'lock-ttl': duration.optional().describe('TTL of the cluster lock lease taken by node operations (default 15s)'),
    })
    .optional(),
  services: z.record(z.string(), serviceCommands).optional(),
  'data-dirs': z.record(z.string(), z.string()).optional(),
  lab: z.strictObject({dir: z.string()}).optional().describe('set by plasmactl lab up'),
  snapshots: snapshotSettings.optional(),
  drills: z
    .strictObject({
      election: duration
        .optional()
        .describe('objective: fault → a new leader (default 10s, the HA notes: "election < 10 s with 2/3 quorum")'),
      rto: duration
        .optional()
        .describe(
          'recovery-time objective: fault → failure tolerance back (restore-rehearsal: snapshot → a serving cluster)',
        ),
      unavailable: duration
        .optional()
        .describe('objective: longest gap between acknowledged writes, minus the baseline'),
      detection: duration.optional().describe('objective: fault → the first health probe that reports it'),
    })
    .optional()
    .describe('HA drill objectives: each becomes a data.slo entry of `drill run` (limit, value, pass)'),
  prismnet: z
    .strictObject({
      nb: z
        .array(z.string().regex(/^(tcp|ssl):/, 'expected tcp:HOST:PORT or ssl:HOST:PORT'))
        .optional()
        .describe('OVN Northbound DB remotes, one per cluster member'),
      sb: z
        .array(z.string().regex(/^(tcp|ssl):/, 'expected tcp:HOST:PORT or ssl:HOST:PORT'))
        .optional()
        .describe('OVN Southbound DB remotes, one per cluster member'),
      tls: tlsSettings.optional().describe('for ssl: remotes'),
    })
    .optional()
    .describe('PrismNet (OVN) databases, reached over OVSDB JSON-RPC'),
  iam: z
    .strictObject({
      url: hostUrl().describe('IAM base URL; health is GET URL/health'),
      'jwks-url': hostUrl().optional().describe('default: URL/.well-known/jwks.json'),
      'health-path': z.string().optional().describe('default: /health'),
      token: z
        .string()
        .optional()
        .describe('bearer token for plasmactl itself (prefer token-command or $PLASMACTL_TOKEN)'),
      'token-command': z
        .string()
        .optional()
        .describe('command that prints a bearer token (or {"token": ...} JSON) on stdout'),
      tls: tlsSettings.optional(),
    })
    .optional()
    .describe('IAM: health, JWKS and the credentials plasmactl presents'),
  flaredb: z
    .strictObject({
      stores: z
        .array(z.string())
        .optional()
        .describe('store gRPC endpoints HOST:PORT; default: the addresses in /flaredb/stores/ in ChainFire'),
      'heartbeat-interval': duration
        .optional()
        .describe('PD heartbeat interval (default 10s); a heartbeat older than 3x is stale'),
      tls: tlsSettings.optional(),
    })
    .optional()
    .describe('FlareDB: store health and placement metadata (read from ChainFire under /flaredb/)'),
  plasmavmc: plasmavmcSettings.optional(),
})

export const configSchema = z.strictObject({
  apiVersion: z.literal('plasmactl/v1'),
  'current-context': z.string().optional(),
  contexts: z.array(contextSchema).default([]),
})

export type Config = z.infer<typeof configSchema>
export type Context = z.infer<typeof contextSchema>
export type NodeSpec = z.infer<typeof nodeSchema>
export type SshSettings = z.infer<typeof sshSettings>
export type Role = (typeof ROLES)[number]
