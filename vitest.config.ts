import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// better-sqlite3 13 segfaults on Node 20: fail with the way out instead.
if (Number(process.versions.node.split('.')[0]) < 22) {
  throw new Error(`the tests need Node.js 22 or 24 (this is ${process.version}): node scripts/withNode.mjs 24 npx vitest …`)
}

export default defineConfig({
  // The same `@/…` imports as the app (tsconfig paths), so components can be unit tested.
  resolve: { alias: { '@': fileURLToPath(new URL('.', import.meta.url)) } },
  test: {
    include: ['{server,lib,components,scripts,test}/**/*.test.{ts,tsx}'],
    exclude: ['node_modules/**', '.next/**'],
    testTimeout: 60_000,
    // expect.poll gives up after 1 s by default: a browser or a server sharing two cores with
    // another suite can take longer to show what the test waits for (CI's red csp run).
    expect: { poll: { timeout: 15_000 } },
    hookTimeout: 120_000,
    pool: 'forks',
    // Integration suites each start real servers; two at a time suits a 2-core machine.
    maxWorkers: 2,
  },
})
