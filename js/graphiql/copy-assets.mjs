// Copies the GraphiQL page's files from node_modules into the app's static files, with the
// licence of each package. Run through `make graphiql-assets` after changing package.json; the
// copies are committed so that an installed app serves GraphiQL without npm or internet.
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");
const target = join(here, "..", "..", "chunked_graphql", "static", "chunked_graphql", "graphiql");

// package -> its files that chunked_graphql/templates/chunked_graphql/graphiql.html loads, each
// copied to <package>/<file name>
const FILES = {
  graphiql: ["graphiql.min.css", "graphiql.min.js"],
  "@graphiql/plugin-explorer": ["dist/style.css", "dist/graphiql-plugin-explorer.umd.js"],
  "whatwg-fetch": ["dist/fetch.umd.js"],
  react: ["umd/react.production.min.js"],
  "react-dom": ["umd/react-dom.production.min.js"],
  "graphql-ws": ["umd/graphql-ws.min.js"],
};

// Packages of the GraphiQL monorepo that declare its MIT licence without shipping the file.
const LICENCE_OF = { "@graphiql/plugin-explorer": "graphiql" };

rmSync(target, { recursive: true, force: true });
for (const [name, files] of Object.entries(FILES)) {
  const source = join(modules, name);
  // A scoped name as one plain folder ("@graphiql/plugin-explorer" -> "graphiql-plugin-explorer").
  const folder = join(target, name.replace(/^@/, "").replace("/", "-"));
  mkdirSync(folder, { recursive: true });
  for (const file of files) {
    copyFileSync(join(source, file), join(folder, basename(file)));
  }
  const licensed = join(modules, LICENCE_OF[name] ?? name);
  const licence = readdirSync(licensed).find((entry) => /^licen[cs]e/i.test(entry));
  if (!licence) throw new Error(`${name} ships no licence file`);
  copyFileSync(join(licensed, licence), join(folder, "LICENSE"));
}
console.log(`copied the GraphiQL assets to ${target}`);
