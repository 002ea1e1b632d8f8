/** Retries with exponential backoff and jitter, interruptible by an AbortSignal. */
import { UploadFailure, abortError } from "./errors.js";

export interface RetryOptions {
  /** Attempts after the first; 0 disables retrying. Default 5. */
  retries?: number;
  /** Delay before the first retry, in milliseconds; doubled each time. Default 500. */
  minDelay?: number;
  /** The longest delay, in milliseconds. Default 20 000. */
  maxDelay?: number;
}

export function isRetryable(error: unknown): boolean {
  return error instanceof UploadFailure && error.retryable;
}

/** The delay before retry number `attempt` (1-based): full jitter over an exponential ceiling. */
export function backoff(attempt: number, options: RetryOptions = {}, random = Math.random): number {
  const minDelay = options.minDelay ?? 500;
  const maxDelay = options.maxDelay ?? 20_000;
  const ceiling = Math.min(maxDelay, minDelay * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal.reason));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal?.reason));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export async function withRetries<T>(
  attempt: () => Promise<T>,
  options: RetryOptions,
  signal: AbortSignal | undefined,
  onRetry?: (attempt: number, delay: number, error: UploadFailure) => void,
): Promise<T> {
  const retries = options.retries ?? 5;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (error) {
      if (signal?.aborted) throw abortError(signal.reason);
      if (!isRetryable(error) || n > retries) throw error;
      const delay = backoff(n, options);
      onRetry?.(n, delay, error as UploadFailure);
      await sleep(delay, signal);
    }
  }
}
