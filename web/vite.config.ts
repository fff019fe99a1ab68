// Vite build of the browser client: web/ → dist/web (served by `pchat serve` at /).
// `npm run dev:web` serves it with hot reload and proxies /api and /ws to a running `pchat serve`
// (PCHAT_DEV_SERVER, default http://127.0.0.1:8080).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const backend = process.env.PCHAT_DEV_SERVER ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: here('.'),
  base: '/',
  // The SDK falls back to the `ws` package outside browsers; a browser always has WebSocket.
  resolve: { alias: { ws: here('src/no-ws.ts') } },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: here('../dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    // No inline scripts or styles: the server's CSP allows 'self' only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  server: {
    proxy: {
      '/api': backend,
      '/ws': { target: backend.replace(/^http/, 'ws'), ws: true },
    },
  },
});
