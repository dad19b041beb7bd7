import { defineConfig } from 'vitest/config'

export default defineConfig({
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
