import { describe, expect, it } from "vitest";
import { UploadFailure } from "../src/errors.js";
import { backoff, withRetries } from "../src/retry.js";

const transient = () => new UploadFailure("NETWORK_ERROR", "down", { retryable: true });
const quick = { retries: 3, minDelay: 1, maxDelay: 2 };

describe("withRetries", () => {
  it("retries a transient failure until it succeeds", async () => {
    let calls = 0;
    const result = await withRetries(
      async () => {
        calls++;
        if (calls < 3) throw transient();
        return "ok";
      },
      quick,
      undefined,
    );
    expect([result, calls]).toEqual(["ok", 3]);
  });

  it("gives up after the retries allowed", async () => {
    let calls = 0;
    const attempt = async () => {
      calls++;
      throw transient();
    };
    await expect(withRetries(attempt, quick, undefined)).rejects.toMatchObject({ code: "NETWORK_ERROR" });
    expect(calls).toBe(4);
  });

  it("does not retry a final failure", async () => {
    let calls = 0;
    const attempt = async () => {
      calls++;
      throw new UploadFailure("SERVER_ERROR", "no", { httpStatus: 404 });
    };
    await expect(withRetries(attempt, quick, undefined)).rejects.toMatchObject({ httpStatus: 404 });
    expect(calls).toBe(1);
  });

  it("stops waiting when aborted", async () => {
    const controller = new AbortController();
    const attempt = async () => {
      setTimeout(() => controller.abort(), 5);
      throw transient();
    };
    const slow = { retries: 3, minDelay: 60_000, maxDelay: 60_000 };
    await expect(withRetries(attempt, slow, controller.signal)).rejects.toMatchObject({ code: "ABORTED" });
  });

  it("tells each retry", async () => {
    const seen: number[] = [];
    let calls = 0;
    await withRetries(
      async () => {
        if (++calls < 3) throw transient();
      },
      quick,
      undefined,
      (attempt) => seen.push(attempt),
    );
    expect(seen).toEqual([1, 2]);
  });
});

describe("backoff", () => {
  it("doubles the ceiling each attempt, with jitter in its upper half", () => {
    expect(backoff(1, { minDelay: 100 }, () => 0)).toBe(50);
    expect(backoff(1, { minDelay: 100 }, () => 1)).toBe(100);
    expect(backoff(3, { minDelay: 100 }, () => 1)).toBe(400);
  });

  it("never exceeds the longest delay", () => {
    expect(backoff(30, { minDelay: 100, maxDelay: 1000 }, () => 1)).toBe(1000);
  });
});
