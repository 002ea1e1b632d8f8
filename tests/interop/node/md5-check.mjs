// Checks the browser uploader's incremental MD5 (example_site/static/example_site/md5.js)
// against Node's, for sizes around the 64-byte block and padding boundaries, fed in uneven
// pieces. Prints "ok" or the first difference, and exits non-zero on a difference.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import vm from "node:vm";

vm.runInThisContext(readFileSync(new URL("../../../example_site/static/example_site/md5.js", import.meta.url), "utf8"));
const MD5 = globalThis.ChunkedGraphQLMD5;

for (const size of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 121, 4096, 1_000_003]) {
  const data = Uint8Array.from({ length: size }, (_, i) => (i * 7919 + (i >> 8)) & 255);
  for (const piece of [1, 37, 64, 1 << 20]) {
    const md5 = new MD5();
    for (let at = 0; at < size; at += piece) md5.update(data.subarray(at, at + piece));
    const got = md5.hexdigest();
    const want = createHash("md5").update(data).digest("hex");
    if (got !== want) {
      console.log(`size ${size} in pieces of ${piece}: ${got}, expected ${want}`);
      process.exit(1);
    }
  }
}
console.log("ok");
