import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  // The same `@/…` imports as the app (tsconfig paths), so components can be unit tested.
  resolve: { alias: { '@': fileURLToPath(new URL('.', import.meta.url)) } },
  test: {
    include: ['{server,lib,components,test}/**/*.test.{ts,tsx}'],
    exclude: ['node_modules/**', '.next/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Integration suites each start real servers; two at a time suits a 2-core machine.
    maxWorkers: 2,
  },
})
