/**
 * What an upload can fail with. Every error is an `UploadFailure` (an `Error`) with a `code`:
 * a typed error of the API (`UploadRejected`, whose `code` is the server's `UploadErrorCode` and
 * whose `fields` hold the type's extra fields), or one of the client's own codes below.
 */
import type { ByteRange, UploadErrorCode } from "./generated/graphql.js";

export type ClientErrorCode =
  /** The request did not reach the server, or no answer came back. */
  | "NETWORK_ERROR"
  /** The server answered something other than a GraphQL result (HTTP status in `httpStatus`). */
  | "SERVER_ERROR"
  /** The server answered with GraphQL errors; `graphqlCode` is the first one's extensions.code. */
  | "GRAPHQL_ERROR"
  /** The AbortSignal fired, or `abort()` was called. */
  | "ABORTED"
  /** The file cannot be read, is empty, or changed while it was uploaded. */
  | "LOCAL_FILE_ERROR"
  /** The server takes no upload this client can make (an unknown checksum algorithm, say). */
  | "UNSUPPORTED";

export type ErrorCode = UploadErrorCode | ClientErrorCode;

/** The extra fields of the API's typed errors (present on the types that have them). */
export interface UploadErrorFields {
  maxBytes?: number;
  maxChunkSize?: number;
  minChunkSize?: number;
  expectedOffset?: number;
  providedOffset?: number;
  algorithm?: string;
  offset?: number;
  expectedSize?: number;
  missingRanges?: ByteRange[];
  quota?: string;
  limit?: number;
}

export class UploadFailure extends Error {
  readonly code: ErrorCode;
  /** The HTTP status the error corresponds to, where there is one. */
  readonly httpStatus: number | undefined;
  /** Whether sending the same request again may succeed. */
  readonly retryable: boolean;

  constructor(
    code: ErrorCode,
    message: string,
    options: { httpStatus?: number; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "UploadFailure";
    this.code = code;
    this.httpStatus = options.httpStatus;
    this.retryable = options.retryable ?? false;
  }
}

/** A typed error of the API: `InvalidChunkSize`, `QuotaExceeded`, `MaxBytesExceeded`, … */
export class UploadRejected extends UploadFailure {
  declare readonly code: UploadErrorCode;
  /** The GraphQL type, e.g. "QuotaExceeded". */
  readonly typename: string;
  readonly fields: UploadErrorFields;

  constructor(
    typename: string,
    code: UploadErrorCode,
    message: string,
    httpStatus: number | undefined,
    fields: UploadErrorFields,
  ) {
    super(code, message, { httpStatus });
    this.name = "UploadRejected";
    this.typename = typename;
    this.fields = fields;
  }
}

/** The server's GraphQL errors; STORAGE_ERROR and UPLOAD_BUSY are retried. */
export class GraphQLRequestError extends UploadFailure {
  readonly graphqlCode: string | undefined;
  readonly errors: unknown[];

  constructor(message: string, graphqlCode: string | undefined, errors: unknown[], httpStatus?: number) {
    super("GRAPHQL_ERROR", message, {
      httpStatus,
      retryable: graphqlCode === "STORAGE_ERROR" || graphqlCode === "UPLOAD_BUSY",
    });
    this.name = "GraphQLRequestError";
    this.graphqlCode = graphqlCode;
    this.errors = errors;
  }
}

export function abortError(reason?: unknown): UploadFailure {
  return new UploadFailure("ABORTED", "The upload was aborted.", { cause: reason });
}

const EXTRA_FIELDS: (keyof UploadErrorFields)[] = [
  "maxBytes",
  "maxChunkSize",
  "minChunkSize",
  "expectedOffset",
  "providedOffset",
  "algorithm",
  "offset",
  "expectedSize",
  "missingRanges",
  "quota",
  "limit",
];

/** The typed error in a mutation's result, as an `UploadRejected`; null for a `ChunkedUpload`. */
export function rejection(result: Record<string, unknown>): UploadRejected | null {
  if (typeof result.code !== "string") return null;
  const fields: UploadErrorFields = {};
  for (const name of EXTRA_FIELDS) {
    if (result[name] !== undefined && result[name] !== null) {
      (fields as Record<string, unknown>)[name] = result[name];
    }
  }
  return new UploadRejected(
    String(result.__typename ?? "UploadError"),
    result.code as UploadErrorCode,
    String(result.message ?? result.code),
    typeof result.httpStatus === "number" ? result.httpStatus : undefined,
    fields,
  );
}
