import { describe, expect, test } from 'vitest'
import { exportFileName } from './exportName'

describe('exportFileName', () => {
  test('the title, made safe for a file name', () => {
    expect(exportFileName('Sprint plan')).toBe('Sprint plan')
    expect(exportFileName('  a/b\\c: d*e?  ')).toBe('a b c d e')
    expect(exportFileName('..hidden')).toBe('hidden')
    expect(exportFileName('tab\there\nnewline')).toBe('tab here newline')
  })

  test('no title: "Untitled board", never tldraw\'s "Untitled"', () => {
    expect(exportFileName('')).toBe('Untitled board')
    expect(exportFileName(' / ')).toBe('Untitled board')
  })

  test('long titles are cut to 100 characters', () => {
    expect(exportFileName('x'.repeat(300))).toHaveLength(100)
  })
})
