/** What the package's tests share. */

/** `length` bytes of a fixed pseudo-random sequence (the same for the same seed). */
export function bytes(length: number, seed = 7): Uint8Array {
  const data = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = x >>> 24;
  }
  return data;
}
