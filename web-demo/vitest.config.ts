import { defineConfig } from "vitest/config";

// Unit tests (node): src/**/*.test.ts(x). The browser end-to-end tests in tests/e2e run with
// Playwright (`npm run test:e2e`), not vitest.
export default defineConfig({
  test: {
    include: ["src/**/*.test.{ts,tsx}"],
    environment: "node",
  },
});
