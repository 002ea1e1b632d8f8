/**
 * One GraphQL request: JSON for queries, the GraphQL multipart request spec for a chunk.
 * Browsers send with XMLHttpRequest, whose upload events report the bytes sent; elsewhere (Node)
 * with fetch, where a chunk counts as sent once its answer arrives.
 */
import { GraphQLRequestError, UploadFailure, abortError } from "./errors.js";

export type Headers = Record<string, string>;
export type HeadersOption = Headers | (() => Headers | Promise<Headers>);

export interface RequestOptions {
  endpoint: string;
  headers?: HeadersOption;
  signal?: AbortSignal;
  /** Called with the bytes of the body sent so far (XMLHttpRequest only). */
  onUploadProgress?: (loaded: number) => void;
  /** "xhr" where XMLHttpRequest exists, else "fetch". */
  transport?: "xhr" | "fetch";
  /** Sends credentials (cookies) with cross-origin requests too. */
  withCredentials?: boolean;
}

export interface GraphQLAnswer {
  data: Record<string, unknown>;
}

export function multipartBody(
  query: string,
  variables: Record<string, unknown>,
  file: { name: string; data: Blob },
): FormData {
  const form = new FormData();
  form.append("operations", JSON.stringify({ query, variables: { ...variables, file: null } }));
  form.append("map", JSON.stringify({ "0": ["variables.file"] }));
  form.append("0", file.data, file.name);
  return form;
}

async function resolveHeaders(option: HeadersOption | undefined): Promise<Headers> {
  if (option === undefined) return {};
  return typeof option === "function" ? await option() : option;
}

/** Sends one GraphQL operation; returns its `data` or throws an `UploadFailure`. */
export async function execute(
  options: RequestOptions,
  query: string,
  variables: Record<string, unknown>,
  file?: { name: string; data: Blob },
): Promise<GraphQLAnswer> {
  if (options.signal?.aborted) throw abortError(options.signal.reason);
  const headers = await resolveHeaders(options.headers);
  let body: BodyInit;
  if (file) {
    body = multipartBody(query, variables, file);
  } else {
    body = JSON.stringify({ query, variables });
    headers["Content-Type"] = "application/json";
  }
  const useXhr =
    (options.transport ?? (typeof XMLHttpRequest !== "undefined" ? "xhr" : "fetch")) === "xhr";
  const { status, text } = useXhr
    ? await sendXhr(options, headers, body)
    : await sendFetch(options, headers, body);
  return parseAnswer(status, text);
}

export function parseAnswer(status: number, text: string): GraphQLAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const answer = parsed as { data?: Record<string, unknown> | null; errors?: unknown[] } | undefined;
  if (answer && Array.isArray(answer.errors) && answer.errors.length > 0) {
    const first = answer.errors[0] as { message?: string; extensions?: { code?: unknown } };
    const code = typeof first?.extensions?.code === "string" ? first.extensions.code : undefined;
    const error = new GraphQLRequestError(
      `The server answered: ${first?.message ?? "a GraphQL error"}`,
      code,
      answer.errors,
      status,
    );
    if (status >= 500 && !error.retryable) {
      throw new UploadFailure("SERVER_ERROR", error.message, { httpStatus: status, retryable: true });
    }
    throw error;
  }
  if (status !== 200 || !answer || typeof answer.data !== "object" || answer.data === null) {
    throw new UploadFailure(
      "SERVER_ERROR",
      `Unexpected answer (HTTP ${status}): ${text.slice(0, 200)}`,
      { httpStatus: status, retryable: status >= 500 || status === 429 || status === 408 },
    );
  }
  return { data: answer.data };
}

async function sendFetch(
  options: RequestOptions,
  headers: Headers,
  body: BodyInit,
): Promise<{ status: number; text: string }> {
  let response: Response;
  try {
    response = await fetch(options.endpoint, {
      method: "POST",
      headers,
      body,
      signal: options.signal,
      credentials: options.withCredentials ? "include" : "same-origin",
    });
    return { status: response.status, text: await response.text() };
  } catch (error) {
    if (options.signal?.aborted) throw abortError(options.signal.reason);
    throw new UploadFailure("NETWORK_ERROR", `The request failed: ${String(error)}`, {
      retryable: true,
      cause: error,
    });
  }
}

function sendXhr(
  options: RequestOptions,
  headers: Headers,
  body: BodyInit,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", options.endpoint);
    xhr.withCredentials = options.withCredentials ?? false;
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    const onAbort = () => xhr.abort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const done = () => options.signal?.removeEventListener("abort", onAbort);
    if (options.onUploadProgress) {
      const report = options.onUploadProgress;
      xhr.upload.addEventListener("progress", (event) => report(event.loaded));
    }
    xhr.onload = () => {
      done();
      resolve({ status: xhr.status, text: xhr.responseText });
    };
    xhr.onerror = xhr.ontimeout = () => {
      done();
      reject(new UploadFailure("NETWORK_ERROR", "The request failed.", { retryable: true }));
    };
    xhr.onabort = () => {
      done();
      reject(abortError(options.signal?.reason));
    };
    xhr.send(body as XMLHttpRequestBodyInit);
  });
}
