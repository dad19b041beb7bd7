import { describe, expect, test } from 'vitest'
import { describeConnection } from './ConnectionIndicator'

const text = (s: ReturnType<typeof describeConnection>) => s.label + (s.detail ?? '')

describe('the connection indicator', () => {
  test('offline says changes are kept; reconnecting only while an attempt is in flight', () => {
    expect(text(describeConnection('offline', 'ok', false, true))).toBe('Offline — changes are kept on this device')
    expect(text(describeConnection('connecting', 'ok', false, true))).toBe('Reconnecting…')
    expect(text(describeConnection('connecting', 'ok', false, false))).toBe('Connecting…')
    expect(text(describeConnection('online', 'ok', false, true))).toBe('Online')
  })

  test('saving paused wins over online and reconnecting, not over offline', () => {
    expect(text(describeConnection('online', 'paused', false, true))).toBe('Saving paused')
    expect(text(describeConnection('connecting', 'paused', false, true))).toBe('Saving paused')
    expect(describeConnection('offline', 'paused', false, true).state).toBe('offline')
  })

  test('a view-only page says so plainly', () => {
    expect(text(describeConnection('online', 'ok', true, true))).toBe('View only')
    expect(text(describeConnection('offline', 'ok', true, true))).toBe('View only · offline')
    expect(text(describeConnection('online', 'paused', true, true))).toBe('View only')
  })
})
