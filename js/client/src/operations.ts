/** The GraphQL documents the client sends (checked against schema.graphql by the tests). */

const UPLOAD = `id url filename offset totalSize expires status checksumAlgorithm responseData
    parallel chunkSize missingRanges { start end } expired`;

const ERROR = "... on UploadError { code message httpStatus }";
const RANGES = "... on UploadIncomplete { offset expectedSize missingRanges { start end } }";

export const UPLOAD_LIMITS = `query UploadLimits {
  uploadLimits {
    maxBytes maxChunkSize minParallelChunkSize maxParts expiresIn checksumAlgorithm
    chunkChecksumAlgorithms
  }
}`;

export const CREATE_UPLOAD = `mutation CreateUpload($filename: String!, $totalSize: BigInt!, $parallel: Boolean, $chunkSize: BigInt) {
  createUpload(filename: $filename, totalSize: $totalSize, parallel: $parallel, chunkSize: $chunkSize) {
    __typename
    ... on ChunkedUpload { ${UPLOAD} }
    ${ERROR}
    ... on MaxBytesExceeded { maxBytes }
    ... on InvalidChunkSize { minChunkSize maxChunkSize }
    ... on QuotaExceeded { quota limit }
  }
}`;

export const UPLOAD_CHUNK = `mutation UploadChunk($uploadId: ID, $file: Upload, $contentRange: String, $filename: String, $chunkChecksum: String) {
  uploadChunk(uploadId: $uploadId, file: $file, contentRange: $contentRange, filename: $filename, chunkChecksum: $chunkChecksum) {
    __typename
    ... on ChunkedUpload { ${UPLOAD} }
    ${ERROR}
    ... on MaxBytesExceeded { maxBytes }
    ... on ChunkTooLarge { maxChunkSize }
    ... on OffsetMismatch { expectedOffset providedOffset }
    ... on QuotaExceeded { quota limit }
  }
}`;

export const COMPLETE_UPLOAD = `mutation CompleteUpload($uploadId: ID, $checksum: String) {
  completeUpload(uploadId: $uploadId, checksum: $checksum) {
    __typename
    ... on ChunkedUpload { ${UPLOAD} completedAt }
    ${ERROR}
    ... on MaxBytesExceeded { maxBytes }
    ... on MissingChecksum { algorithm }
    ${RANGES}
  }
}`;

export const CANCEL_UPLOAD = `mutation CancelUpload($uploadId: ID!) {
  cancelUpload(uploadId: $uploadId) {
    __typename
    ... on CancelledUpload { id }
    ${ERROR}
  }
}`;

export const GET_UPLOAD = `query GetUpload($id: ID!) { chunkedUpload(id: $id) { ${UPLOAD} } }`;

export const DOCUMENTS = {
  UPLOAD_LIMITS,
  CREATE_UPLOAD,
  UPLOAD_CHUNK,
  COMPLETE_UPLOAD,
  CANCEL_UPLOAD,
  GET_UPLOAD,
};
