// Shared vitest settings: every `@disco/<pkg>` import resolves to that package's sources, so
// tests never run against a stale build and all packages share one copy of each module.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packages = fileURLToPath(new URL('./packages/', import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      // A subpath export `@disco/<pkg>/<sub>` lives in `src/<sub>/index.ts`.
      { find: /^@disco\/([a-z0-9-]+)\/([a-z0-9-]+)$/, replacement: `${packages}$1/src/$2/index.ts` },
      { find: /^@disco\/([a-z0-9-]+)$/, replacement: `${packages}$1/src/index.ts` },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
