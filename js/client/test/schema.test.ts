// The documents the client sends are valid against schema.graphql, and the generated types are
// what GraphQL Code Generator makes of it now (run `npm run codegen` after changing the schema).
import { readFile } from "node:fs/promises";
import { generate } from "@graphql-codegen/cli";
import { buildSchema, parse, validate } from "graphql";
import { describe, expect, it } from "vitest";
import config from "../codegen.js";
import { DOCUMENTS } from "../src/operations.js";

const root = new URL("../", import.meta.url);

describe("schema.graphql", () => {
  it.each(Object.entries(DOCUMENTS))("validates %s", async (_name, document) => {
    const schema = buildSchema(await readFile(new URL("../../schema.graphql", root), "utf8"));
    expect(validate(schema, parse(document)).map((error) => error.message)).toEqual([]);
  });

  it("gives the committed generated types", async () => {
    const schema = new URL("../../schema.graphql", root).pathname;
    const outputs = await generate({ ...config, schema, cwd: root.pathname, silent: true }, false);
    const [output] = outputs as { filename: string; content: string }[];
    const committed = await readFile(new URL("src/generated/graphql.ts", root), "utf8");
    expect(output.content === committed, "src/generated/graphql.ts is stale: run npm run codegen").toBe(true);
  }, 60_000);
});
