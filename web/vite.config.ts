/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';
import { fileURLToPath } from 'node:url';

// The shared typed client is TypeScript source in the repository (packages/client), compiled with
// the dashboard: no build step, and the same file as tsconfig.json's `paths` entry.
const rosterClient = fileURLToPath(new URL('../packages/client/src/index.ts', import.meta.url));

export default defineConfig({
  plugins: [react(), tailwindcss()],
  resolve: { alias: { '@roster/client': rosterClient } },
  server: {
    fs: { allow: ['.', '../packages/client'] },
    port: 5173,
    // The dashboard calls the API same-origin under /api; in development Vite forwards it.
    proxy: { '/api': { target: 'http://127.0.0.1:3000', changeOrigin: false } },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    rollupOptions: {
      output: {
        manualChunks(id: string) {
          if (!id.includes('node_modules')) return undefined;
          if (/[\\/]node_modules[\\/](react|react-dom|scheduler|react-router)[\\/]/.test(id)) return 'react';
          if (id.includes('@radix-ui') || id.includes('@floating-ui')) return 'radix';
          return 'vendor';
        },
      },
    },
  },
  test: {
    environment: 'jsdom',
    // One jsdom and module graph per worker, not per file: 34 s → 12 s for the suite here. Each test
    // cleans up after itself (src/test/setup.ts restores mocks and globals), and none mocks modules.
    isolate: false,
    globals: true,
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    css: false,
  },
});
