import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One process, no worker pool: quick to start on a small machine.
    pool: "threads",
    fileParallelism: false,
  },
});
