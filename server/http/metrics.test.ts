import { describe, expect, test } from 'vitest'
import { createMetrics, type StoreErrorCounters } from './metrics'

describe('createMetrics', () => {
  test('store error counters are exported only when something counts them, with their current values', async () => {
    expect(await createMetrics(() => null).registry.metrics()).not.toContain('sketchroom_store_append_errors_total')
    const counts: StoreErrorCounters = { appendErrors: 0, compactErrors: 0 }
    const metrics = createMetrics(() => null, { storeErrors: () => counts })
    counts.appendErrors = 3
    counts.compactErrors = 1
    const text = await metrics.registry.metrics()
    expect(text).toMatch(/^sketchroom_store_append_errors_total 3$/m)
    expect(text).toMatch(/^sketchroom_store_compact_errors_total 1$/m)
    counts.appendErrors = 4
    expect(await metrics.registry.metrics()).toMatch(/^sketchroom_store_append_errors_total 4$/m)
  })
})
