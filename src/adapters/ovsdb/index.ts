export {
  JsonStreamSplitter,
  OvsdbConnection,
  OvsdbError,
  ovsdbOptional,
  ovsdbValue,
  parseRemote,
  queryServer,
  type OvsdbServerInfo,
  type OvsdbTls,
  type ServerDatabase,
} from './client.js'
