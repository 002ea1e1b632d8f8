// Bundles src/main.js (Uppy, its Dashboard, the client package) into the site's static files.
import { copyFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const uppyCore = require.resolve("@uppy/core");
const outdir = `${here}/../../example_site/static/example_site/build`;

await esbuild.build({
  entryPoints: [`${here}/src/main.js`],
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  outfile: `${outdir}/uploader.js`,
  logLevel: "warning",
  plugins: [
    {
      // One Uppy: the client package's plugin imports @uppy/core from this package's copy.
      name: "one-uppy-core",
      setup(build) {
        build.onResolve({ filter: /^@uppy\/core$/ }, () => ({ path: uppyCore }));
      },
    },
  ],
});

// The client starts its hashing worker from "./hash-worker.js" beside the module that imports
// it, here the bundle; the package ships that worker already bundled.
const worker = require.resolve("chunked-graphql-client/hash-worker");
await copyFile(worker, `${outdir}/hash-worker.js`);
await copyFile(`${worker}.map`, `${outdir}/hash-worker.js.map`);
