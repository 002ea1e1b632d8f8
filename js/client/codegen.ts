// TypeScript types of the API, from the repository's schema.graphql (`npm run codegen`;
// test/generated.test.ts fails when src/generated/graphql.ts is not what this makes).
import type { CodegenConfig } from "@graphql-codegen/cli";

const config: CodegenConfig = {
  schema: "../../schema.graphql",
  generates: {
    "src/generated/graphql.ts": {
      plugins: ["typescript"],
      config: {
        enumsAsTypes: true,
        scalars: {
          BigInt: "number",
          DateTime: "string",
          JSONString: "string",
          Upload: "Blob",
        },
      },
    },
  },
};

export default config;
