// Importing this module loads no SDK code: the AWS SDK is imported dynamically on first use.
export {
  clientConfigFor,
  MIN_PART_SIZE,
  openS3Store,
  partSizeFor,
  S3Store,
  SHA256_METADATA_KEY,
  type S3ConnectOptions,
  type S3Expectation,
  type S3ObjectInfo,
  type UploadProgress,
} from './client.js'
export {
  createS3Signer,
  inspectS3Request,
  type CreateSignerOptions,
  type HttpRequestLike,
  type InspectedS3Request,
  type SigningCredentials,
  type SigningTrace,
  type Sigv4Signer,
} from './signing.js'
