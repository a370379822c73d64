export {connectRetrying, SshConnections} from './connections.js'
export {
  appendKnownHost,
  checkHostKey,
  entryMatchesName,
  fingerprintSha256,
  formatKnownHostsLine,
  hashKnownHostName,
  keyTypeOf,
  knownHostName,
  knownKeyTypes,
  loadKnownHosts,
  parseKnownHosts,
  type HostKeyVerdict,
  type KnownHostEntry,
  type KnownHostsProblem,
  type ParsedKnownHosts,
} from './known-hosts.js'
export {
  HostKeyRefusedError,
  isHandshakeDropped,
  isSshTimeout,
  SshClient,
  SshCommandTimeoutError,
  SshConnectionError,
  SshHandshakeTimeoutError,
  type HostKeyInfo,
  type HostKeyPolicy,
  type SshConnectOptions,
  type SshExecOptions,
  type SshExecResult,
} from './ssh-client.js'
export {SftpFiles, type RemoteEntry} from './sftp.js'
