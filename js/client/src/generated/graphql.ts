export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /**
   * The `BigInt` scalar type represents non-fractional whole numeric values.
   * `BigInt` is not constrained to 32-bit like the `Int` type and thus is a less
   * compatible type.
   */
  BigInt: { input: number; output: number; }
  /**
   * The `DateTime` scalar type represents a DateTime
   * value as specified by
   * [iso8601](https://en.wikipedia.org/wiki/ISO_8601).
   */
  DateTime: { input: string; output: string; }
  /**
   * Allows use of a JSON String for input / output from the GraphQL schema.
   *
   * Use of this type is *not recommended* as you lose the benefits of having a defined, static
   * schema (one of the key benefits of GraphQL).
   */
  JSONString: { input: string; output: string; }
  /**
   * A file part of a GraphQL multipart request (the GraphQL multipart request spec).
   * Any other value is treated as no file at all.
   */
  Upload: { input: Blob; output: Blob; }
};

/** USER_RESTRICTED is on and the caller is anonymous. */
export type AuthenticationRequired = UploadError & {
  __typename?: 'AuthenticationRequired';
  code: UploadErrorCode;
  /** The HTTP status drf-chunked-upload answers for this case. */
  httpStatus: Scalars['Int']['output'];
  /** Human readable; fit to show a user. */
  message: Scalars['String']['output'];
};

/** An inclusive range of bytes of the file, as in contentRange. */
export type ByteRange = {
  __typename?: 'ByteRange';
  end: Scalars['BigInt']['output'];
  start: Scalars['BigInt']['output'];
};

/** The cancelled upload's id, or why not. */
export type CancelUploadResult = CancelledUpload | UploadAlreadyComplete | UploadNotFound;

/** The upload that was cancelled; its row and bytes are gone. */
export type CancelledUpload = {
  __typename?: 'CancelledUpload';
  id: Scalars['ID']['output'];
};

/** The checksum differs from the digest of the stored bytes; the upload stays open. */
export type ChecksumMismatch = UploadError & {
  __typename?: 'ChecksumMismatch';
  code: UploadErrorCode;
  /** The HTTP status drf-chunked-upload answers for this case. */
  httpStatus: Scalars['Int']['output'];
  /** Human readable; fit to show a user. */
  message: Scalars['String']['output'];
};

/**
 * The chunk's bytes do not match its chunkChecksum (or a stored copy of the same range
 * has another checksum); nothing of it was kept.
 */
export type ChunkChecksumMismatch = UploadError & {
  __typename?: 'ChunkChecksumMismatch';
  code: UploadErrorCode;
  /** The HTTP status drf-chunked-upload answers for this case. */
  httpStatus: Scalars['Int']['output'];
  /** Human readable; fit to show a user. */
  message: Scalars['String']['output'];
};

/** The chunk is larger than the MAX_CHUNK_SIZE setting allows; nothing of it was stored. */
export type ChunkTooLarge = UploadError & {
  __typename?: 'ChunkTooLarge';
  code: UploadErrorCode;
  /** The HTTP status drf-chunked-upload answers for this case. */
  httpStatus: Scalars['Int']['output'];
  maxChunkSize: Scalars['BigInt']['output'];
  /** Human readable; fit to show a user. */
  message: Scalars['String']['output'];
};

/** A resumable upload and how far it has got. */
export type ChunkedUpload = {
  __typename?: 'ChunkedUpload';
  /** The hashlib algorithm completeUpload checks, e.g. "md5". */
  checksumAlgorithm: Scalars['String']['output'];
  /** The fixed chunk size of a parallel upload; null when serial. */
  chunkSize?: Maybe<Scalars['BigInt']['output']>;
  completedAt?: Maybe<Scalars['DateTime']['output']>;
  createdAt: Scalars['DateTime']['output'];
  /** An incomplete upload past its expiry; it cannot continue. */
  expired: Scalars['Boolean']['output'];
  /** When an incomplete upload expires (createdAt + delta). */
  expires: Scalars['DateTime']['output'];
  /** The client's filename, verbatim. */
  filename: Scalars['String']['output'];
  /** The upload's UUID. */
  id: Scalars['ID']['output'];
  /** What still has to be sent, ascending; ranges being received count as missing. */
  missingRanges: Array<ByteRange>;
  /** Bytes stored so far: where the next chunk must start. */
  offset: Scalars['BigInt']['output'];
  /** Chunks may arrive in any order, several at once. */
  parallel: Scalars['Boolean']['output'];
  /** What the project's completion hook returned, if anything. */
  responseData?: Maybe<Scalars['JSONString']['output']>;
  status: ChunkedUploadStatus;
  /** The TOTAL declared by the first chunk. */
  totalSize?: Maybe<Scalars['BigInt']['output']>;
  /** Absolute URL of this upload: GraphQL requests posted there that omit uploadId act on this upload. */
  url: Scalars['String']['output'];
};

/** Where an upload stands. */
export type ChunkedUploadStatus =
  /** All bytes arrived and the checksum matched. */
  | 'COMPLETE'
  /** Chunks are still being received; the upload can be continued. */
  | 'UPLOADING';

/** The completed upload, or why not. */
export type CompleteUploadResult = AuthenticationRequired | ChecksumMismatch | ChunkedUpload | InvalidFilename | MaxBytesExceeded | MissingChecksum | MissingChunk | UploadAlreadyComplete | UploadExpired | UploadIncomplete | UploadNotFound;

/** The new upload, or why not. */
export type CreateUploadResult = AuthenticationRequired | ChunkedUpload | InvalidChunkSize | InvalidContentRange | InvalidFilename | MaxBytesExceeded | QuotaExceeded;

/**
 * chunkChecksum is not "<algorithm>:<hex digest>" of an algorithm the server offers
 * (uploadLimits.chunkChecksumAlgorithms).
 */
export type InvalidChunkChecksum = UploadError & {
  __typename?: 'InvalidChunkChecksum';
  code: UploadErrorCode;
  /** The HTTP status drf-chunked-upload answers for this case. */
  httpStatus: Scalars['Int']['output'];
  /** Human readable; fit to show a user. */
  message: Scalars['String']['output'];
};

/** A parallel upload needs a chunkSize from minChunkSize to maxChunkSize. */
export type InvalidChunkSize = UploadError & {
  __typename?: 'InvalidChunkSize';
  code: UploadErrorCode;
  /** The HTTP status drf-chunked-upload answers for this case. */
  httpStatus: Scalars['Int']['output'];
  maxChunkSize: Scalars['BigInt']['output'];
  /** Human readable; fit to show a user. */
  message: Scalars['String']['output'];
  minChunkSize: Scalars['BigInt']['output'];
};

/** contentRange is malformed, inconsistent, or disagrees with the chunk or the upload. */
export type InvalidContentRange = UploadError & {
  __typename?: 'InvalidContentRange';
  code: UploadErrorCode;
  /** The HTTP status drf-chunked-upload answers for this case. */
  httpStatus: Scalars['Int']['output'];
  /** Human readable; fit to show a user. */
  message: Scalars['String']['output'];
};

/** filename is missing, blank, longer than 255 characters or holds a control character. */
export type InvalidFilename = UploadError & {
  __typename?: 'InvalidFilename';
  code: UploadErrorCode;
  /** The HTTP status drf-chunked-upload answers for this case. */
  httpStatus: Scalars['Int']['output'];
  /** Human readable; fit to show a user. */
  message: Scalars['String']['output'];
};

/** The file is larger than the MAX_BYTES setting allows. */
export type MaxBytesExceeded = UploadError & {
  __typename?: 'MaxBytesExceeded';
  code: UploadErrorCode;
  /** The HTTP status drf-chunked-upload answers for this case. */
  httpStatus: Scalars['Int']['output'];
  maxBytes: Scalars['BigInt']['output'];
  /** Human readable; fit to show a user. */
  message: Scalars['String']['output'];
};

/** completeUpload needs the hex digest of the whole file. */
export type MissingChecksum = UploadError & {
  __typename?: 'MissingChecksum';
  algorithm: Scalars['String']['output'];
  code: UploadErrorCode;
  /** The HTTP status drf-chunked-upload answers for this case. */
  httpStatus: Scalars['Int']['output'];
  /** Human readable; fit to show a user. */
  message: Scalars['String']['output'];
};

/** No usable file was sent: absent, not a file part, or empty. */
export type MissingChunk = UploadError & {
  __typename?: 'MissingChunk';
  code: UploadErrorCode;
  /** The HTTP status drf-chunked-upload answers for this case. */
  httpStatus: Scalars['Int']['output'];
  /** Human readable; fit to show a user. */
  message: Scalars['String']['output'];
};

/** contentRange was absent or empty. */
export type MissingContentRange = UploadError & {
  __typename?: 'MissingContentRange';
  code: UploadErrorCode;
  /** The HTTP status drf-chunked-upload answers for this case. */
  httpStatus: Scalars['Int']['output'];
  /** Human readable; fit to show a user. */
  message: Scalars['String']['output'];
};

export type Mutation = {
  __typename?: 'Mutation';
  /** Delete an incomplete upload and its bytes. */
  cancelUpload: CancelUploadResult;
  /**
   * Finish an upload once every byte has arrived, checking the checksum. Without an upload
   * addressed, a whole file sent in `file` is created and completed at once.
   */
  completeUpload: CompleteUploadResult;
  /**
   * Create an upload before sending any of its bytes, so its id is known first. A parallel
   * upload takes chunks of chunkSize bytes in any order, several at once.
   */
  createUpload: CreateUploadResult;
  /**
   * Store one chunk. Without uploadId (and not posted to an upload's url) it starts a new
   * upload, which needs a filename and a chunk starting at byte 0.
   */
  uploadChunk: UploadChunkResult;
};


export type MutationCancelUploadArgs = {
  uploadId: Scalars['ID']['input'];
};


export type MutationCompleteUploadArgs = {
  checksum?: InputMaybe<Scalars['String']['input']>;
  file?: InputMaybe<Scalars['Upload']['input']>;
  filename?: InputMaybe<Scalars['String']['input']>;
  uploadId?: InputMaybe<Scalars['ID']['input']>;
};


export type MutationCreateUploadArgs = {
  chunkSize?: InputMaybe<Scalars['BigInt']['input']>;
  filename: Scalars['String']['input'];
  parallel?: InputMaybe<Scalars['Boolean']['input']>;
  totalSize: Scalars['BigInt']['input'];
};


export type MutationUploadChunkArgs = {
  chunkChecksum?: InputMaybe<Scalars['String']['input']>;
  contentRange?: InputMaybe<Scalars['String']['input']>;
  file?: InputMaybe<Scalars['Upload']['input']>;
  filename?: InputMaybe<Scalars['String']['input']>;
  uploadId?: InputMaybe<Scalars['ID']['input']>;
};

/** The chunk does not start where the upload's stored bytes end. */
export type OffsetMismatch = UploadError & {
  __typename?: 'OffsetMismatch';
  code: UploadErrorCode;
  expectedOffset: Scalars['BigInt']['output'];
  /** The HTTP status drf-chunked-upload answers for this case. */
  httpStatus: Scalars['Int']['output'];
  /** Human readable; fit to show a user. */
  message: Scalars['String']['output'];
  providedOffset: Scalars['BigInt']['output'];
};

export type Query = {
  __typename?: 'Query';
  /** An upload of the caller's; null when absent or not visible. */
  chunkedUpload?: Maybe<ChunkedUpload>;
  /** The caller's uploads (every upload when USER_RESTRICTED is off), newest first, one page at a time. */
  chunkedUploads: Array<ChunkedUpload>;
  /** The server's limits on uploads. */
  uploadLimits: UploadLimits;
};


export type QueryChunkedUploadArgs = {
  id: Scalars['ID']['input'];
};


export type QueryChunkedUploadsArgs = {
  after?: InputMaybe<Scalars['ID']['input']>;
  first?: InputMaybe<Scalars['Int']['input']>;
  status?: InputMaybe<ChunkedUploadStatus>;
};

/** A new upload would take the caller past a quota on incomplete uploads. */
export type QuotaExceeded = UploadError & {
  __typename?: 'QuotaExceeded';
  code: UploadErrorCode;
  /** The HTTP status drf-chunked-upload answers for this case. */
  httpStatus: Scalars['Int']['output'];
  limit: Scalars['BigInt']['output'];
  /** Human readable; fit to show a user. */
  message: Scalars['String']['output'];
  quota: QuotaKind;
};

/** A per-user quota on incomplete uploads. */
export type QuotaKind =
  | 'INCOMPLETE_BYTES'
  | 'INCOMPLETE_UPLOADS';

/** The upload is already complete. */
export type UploadAlreadyComplete = UploadError & {
  __typename?: 'UploadAlreadyComplete';
  code: UploadErrorCode;
  /** The HTTP status drf-chunked-upload answers for this case. */
  httpStatus: Scalars['Int']['output'];
  /** Human readable; fit to show a user. */
  message: Scalars['String']['output'];
};

/** The upload with the chunk stored, or why not. */
export type UploadChunkResult = AuthenticationRequired | ChunkChecksumMismatch | ChunkTooLarge | ChunkedUpload | InvalidChunkChecksum | InvalidContentRange | InvalidFilename | MaxBytesExceeded | MissingChunk | MissingContentRange | OffsetMismatch | QuotaExceeded | UploadAlreadyComplete | UploadExpired | UploadNotFound;

/** A refused request. The request changed nothing. */
export type UploadError = {
  code: UploadErrorCode;
  /** The HTTP status drf-chunked-upload answers for this case. */
  httpStatus: Scalars['Int']['output'];
  /** Human readable; fit to show a user. */
  message: Scalars['String']['output'];
};

/** What went wrong: one value per typed error. */
export type UploadErrorCode =
  | 'ALREADY_COMPLETE'
  | 'AUTHENTICATION_REQUIRED'
  | 'CHECKSUM_MISMATCH'
  | 'CHUNK_CHECKSUM_MISMATCH'
  | 'CHUNK_TOO_LARGE'
  | 'EXPIRED'
  | 'INCOMPLETE'
  | 'INVALID_CHUNK_CHECKSUM'
  | 'INVALID_CHUNK_SIZE'
  | 'INVALID_CONTENT_RANGE'
  | 'INVALID_FILENAME'
  | 'MAX_BYTES_EXCEEDED'
  | 'MISSING_CHECKSUM'
  | 'MISSING_CHUNK'
  | 'MISSING_CONTENT_RANGE'
  | 'NOT_FOUND'
  | 'OFFSET_MISMATCH'
  | 'QUOTA_EXCEEDED';

/** The upload expired before it was completed. */
export type UploadExpired = UploadError & {
  __typename?: 'UploadExpired';
  code: UploadErrorCode;
  /** The HTTP status drf-chunked-upload answers for this case. */
  httpStatus: Scalars['Int']['output'];
  /** Human readable; fit to show a user. */
  message: Scalars['String']['output'];
};

/** Not all declared bytes have arrived yet. */
export type UploadIncomplete = UploadError & {
  __typename?: 'UploadIncomplete';
  code: UploadErrorCode;
  expectedSize: Scalars['BigInt']['output'];
  /** The HTTP status drf-chunked-upload answers for this case. */
  httpStatus: Scalars['Int']['output'];
  /** Human readable; fit to show a user. */
  message: Scalars['String']['output'];
  missingRanges: Array<ByteRange>;
  offset: Scalars['BigInt']['output'];
};

/** The server's limits, as a client should know them before it sends an upload. */
export type UploadLimits = {
  __typename?: 'UploadLimits';
  /** What a new upload's completeUpload checks, e.g. "md5". */
  checksumAlgorithm: Scalars['String']['output'];
  /** What uploadChunk's chunkChecksum may use, e.g. "sha256". */
  chunkChecksumAlgorithms: Array<Scalars['String']['output']>;
  /** Seconds an incomplete upload lives (EXPIRATION_DELTA). */
  expiresIn: Scalars['Int']['output'];
  /** MAX_BYTES: the largest file; null = no limit. */
  maxBytes?: Maybe<Scalars['BigInt']['output']>;
  /** MAX_CHUNK_SIZE: the largest chunk one request may carry. */
  maxChunkSize: Scalars['BigInt']['output'];
  /** MAX_INCOMPLETE_BYTES: the declared sizes of a user's incomplete uploads, in all; null = no quota. */
  maxIncompleteBytes?: Maybe<Scalars['BigInt']['output']>;
  /** MAX_INCOMPLETE_UPLOADS: a user's incomplete uploads; null = no quota. */
  maxIncompleteUploads?: Maybe<Scalars['Int']['output']>;
  /** MAX_PAGE_SIZE: the most uploads chunkedUploads lists. */
  maxPageSize: Scalars['Int']['output'];
  /** The most chunks a parallel upload may have; null = no limit. */
  maxParts?: Maybe<Scalars['Int']['output']>;
  /** The smallest chunkSize a parallel upload may use. */
  minParallelChunkSize: Scalars['BigInt']['output'];
};

/** No such upload, or not one the caller may see. */
export type UploadNotFound = UploadError & {
  __typename?: 'UploadNotFound';
  code: UploadErrorCode;
  /** The HTTP status drf-chunked-upload answers for this case. */
  httpStatus: Scalars['Int']['output'];
  /** Human readable; fit to show a user. */
  message: Scalars['String']['output'];
};
