// Bundles the hashing worker with hash-wasm into dist/hash-worker.js, over what tsc wrote there,
// so the worker loads as it is: a bundler, an import map or a CDN need not resolve its imports.
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));

await esbuild.build({
  entryPoints: [`${here}/src/hash-worker.ts`],
  bundle: true,
  format: "esm",
  target: "es2022",
  sourcemap: true,
  outfile: `${here}/dist/hash-worker.js`,
  logLevel: "warning",
});
