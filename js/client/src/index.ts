export { upload, cancelUpload, Upload, defaultFingerprint } from "./upload.js";
export { parallelChunkSize, chunkStarts, DEFAULT_CHUNK_SIZE, DEFAULT_PARALLEL } from "./plan.js";
export type { ServerLimits } from "./plan.js";
export type { UploadOptions, UploadSource, UploadInfo, Progress } from "./types.js";
export {
  UploadFailure,
  UploadRejected,
  GraphQLRequestError,
} from "./errors.js";
export type { ErrorCode, ClientErrorCode, UploadErrorFields } from "./errors.js";
export { MemoryStore, LocalStorageStore, defaultStore } from "./store.js";
export type { ResumeStore, ResumeRecord } from "./store.js";
export { FileDigest, FILE_ALGORITHMS, CHUNK_ALGORITHMS, chunkChecksum } from "./hash.js";
export type { HashCheckpoint } from "./hash.js";
export type { RetryOptions } from "./retry.js";
export type { HeadersOption } from "./transport.js";
export * as operations from "./operations.js";
export type * from "./generated/graphql.js";
