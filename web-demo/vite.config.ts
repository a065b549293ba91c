import { defineConfig } from "vite";
import preact from "@preact/preset-vite";
import { VitePWA } from "vite-plugin-pwa";

// The relay serves dist/ and /sync on one origin; `vite dev` proxies /sync to a relay on :8080.
export default defineConfig({
  plugins: [
    preact(),
    VitePWA({
      registerType: "autoUpdate",
      injectRegister: false,
      manifest: {
        name: "Fieldbook",
        short_name: "Fieldbook",
        description: "Offline-first lead pipeline for travelling sales reps",
        start_url: "/",
        display: "standalone",
        background_color: "#ffffff",
        theme_color: "#1f4e79",
        icons: [{ src: "icon.svg", sizes: "any", type: "image/svg+xml" }],
      },
      workbox: {
        // autoUpdate as intended: a new version takes over at once (the page reloads; every
        // action is already durable in IndexedDB) rather than waiting until every tab is closed
        // (with injectRegister: false the plugin does not set these itself). The page that
        // installed the worker is controlled at once; old precaches are removed.
        skipWaiting: true,
        clientsClaim: true,
        cleanupOutdatedCaches: true,
        // GET /__fieldbook/reachable: can the relay be reached now (public/sw-reachable.js)?
        importScripts: ["sw-reachable.js"],
        globPatterns: ["**/*.{js,css,html,wasm,svg,webmanifest}"],
        maximumFileSizeToCacheInBytes: 8 * 1024 * 1024,
        navigateFallback: "/index.html",
        navigateFallbackDenylist: [/^\/sync/, /^\/healthz/, /^\/readyz/, /^\/metrics/],
      },
    }),
  ],
  build: { target: "es2022", sourcemap: true },
  server: { proxy: { "/sync": { target: "ws://127.0.0.1:8080", ws: true } } },
});
