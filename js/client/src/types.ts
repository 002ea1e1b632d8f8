/**
 * What `upload()` takes and what it tells its caller: the file, the options, the progress
 * reports and an upload as the API answers it. Apart from upload.ts, so that the contract reads
 * on its own and plan.ts and sending.ts name an upload without importing the module that imports
 * them.
 */
import type { UploadFailure } from "./errors.js";
import type { ByteRange } from "./generated/graphql.js";
import type { Source } from "./hash.js";
import type { HashWorkerOption } from "./hashing.js";
import type { RetryOptions } from "./retry.js";
import type { ResumeStore } from "./store.js";
import type { HeadersOption } from "./transport.js";

/** The file: a File or Blob (in Node, `openFile(path)` from "chunked-graphql-client/node"). */
export type UploadSource = Omit<Source, "slice"> & {
  readonly name?: string;
  readonly lastModified?: number;
  readonly type?: string;
  slice(start: number, end: number): Blob;
};

/** A `ChunkedUpload` as the API answers it. */
export interface UploadInfo {
  id: string;
  url: string;
  filename: string;
  offset: number;
  totalSize: number | null;
  expires: string;
  status: "UPLOADING" | "COMPLETE";
  checksumAlgorithm: string;
  responseData: string | null;
  parallel: boolean;
  chunkSize: number | null;
  missingRanges: ByteRange[];
  expired: boolean;
  completedAt?: string | null;
}

export interface Progress {
  /** Bytes on their way or arrived (with XMLHttpRequest, counted as the body goes out). */
  bytesSent: number;
  /** Bytes the server has confirmed storing. */
  bytesAcknowledged: number;
  bytesTotal: number;
  uploadId: string | null;
  /** What the server held when this run started (0 for a new upload). */
  resumedFrom: number;
}

export interface UploadOptions {
  /** The GraphQL endpoint, e.g. "https://example.com/graphql/". */
  endpoint: string;
  /** Extra request headers, or a function giving them before each request (a fresh token). */
  headers?: HeadersOption;
  /** The name stored on the server; default: the file's name. */
  filename?: string;
  /** Default 4 MiB, within what the server takes. */
  chunkSize?: number;
  /** Chunks sent at once: default 4 where the server takes a parallel upload; 1 sends serially. */
  parallel?: number;
  retry?: RetryOptions;
  signal?: AbortSignal;
  /** Where unfinished uploads are remembered: localStorage in browsers, else memory. null: never. */
  store?: ResumeStore | null;
  /** The key an upload is remembered by; default: endpoint, name, size and modification time. */
  fingerprint?: (file: UploadSource, endpoint: string) => string | Promise<string>;
  onProgress?: (progress: Progress) => void;
  onRetry?: (attempt: number, delay: number, error: UploadFailure) => void;
  /** The upload's id is known (created, or found again to resume). */
  onStart?: (upload: UploadInfo, resumed: boolean) => void;
  /** "xhr" (default where XMLHttpRequest exists) or "fetch". */
  transport?: "xhr" | "fetch";
  /** Read and hash in a Web Worker (default where there is one); see `HashWorkerOption`. */
  hashWorker?: HashWorkerOption;
  withCredentials?: boolean;
}
