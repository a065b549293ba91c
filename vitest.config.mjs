// `npm --prefix web-demo exec vitest run` starts vitest in the repository root: point it at the
// web app's unit tests (web-demo/vitest.config.ts says the same for a run inside web-demo).
// No imports: the root has no node_modules.
export default {
  test: {
    root: "web-demo",
    include: ["src/**/*.test.{ts,tsx}"],
    environment: "node",
  },
};
