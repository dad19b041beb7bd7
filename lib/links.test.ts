import { describe, expect, test } from 'vitest'
import { embedPath, embedQuery, iframeSnippet, pagePath, parseEmbedOptions, parseLinkPath } from './links'

const TOKEN = 'abcdefghijklmnopqrstuvwxyz012345.ABCDEFGHIJKLMNOPQRSTUV'

describe('links', () => {
  test('page and embed paths round-trip through parseLinkPath', () => {
    for (const link of [
      { kind: 'room', roomId: 'PDEYacbKXvQwRi_GRgxaDA' },
      { kind: 'token', token: TOKEN, page: 'view' },
      { kind: 'token', token: TOKEN, page: 'edit' },
    ] as const) {
      expect(parseLinkPath(pagePath(link))).toEqual(link)
      expect(parseLinkPath(embedPath(link))).toEqual(link)
    }
  })

  test('parseLinkPath refuses what is not a board link', () => {
    for (const path of ['/', '/b', '/b/a/b', '/v/no-dot', '/embed/v/no-dot', '/x/' + TOKEN, '/b/has space', '/roomid']) {
      expect(parseLinkPath(path), path).toBeNull()
    }
  })

  test('embed options: defaults, each option, and unknown values fall back', () => {
    expect(parseEmbedOptions({})).toEqual({ readonly: false, ui: true, zoomToFit: false, theme: null })
    expect(parseEmbedOptions({ readonly: '1', ui: '0', zoom: 'fit', theme: 'dark' })).toEqual({
      readonly: true,
      ui: false,
      zoomToFit: true,
      theme: 'dark',
    })
    expect(parseEmbedOptions({ readonly: 'maybe', ui: 'x', zoom: '200', theme: 'purple' })).toEqual(parseEmbedOptions({}))
    expect(parseEmbedOptions({ theme: ['light', 'dark'] }).theme).toBe('light')
  })

  test('embedQuery writes only non-defaults and parses back', () => {
    expect(embedQuery({})).toBe('')
    const query = embedQuery({ readonly: true, ui: false, zoomToFit: true, theme: 'light' })
    expect(query).toBe('?readonly=1&ui=0&zoom=fit&theme=light')
    expect(parseEmbedOptions(Object.fromEntries(new URLSearchParams(query)))).toEqual({
      readonly: true,
      ui: false,
      zoomToFit: true,
      theme: 'light',
    })
  })

  test('iframeSnippet escapes the source so a URL cannot break out of the attribute', () => {
    const snippet = iframeSnippet('https://x.test/embed/a?ui=0&zoom=fit"><script>')
    expect(snippet).toContain('src="https://x.test/embed/a?ui=0&amp;zoom=fit&quot;&gt;&lt;script&gt;"')
    expect(snippet).not.toContain('<script>')
  })
})
