import { describe, expect, test } from 'vitest'
import { isEmbedRoute, routeOf } from './securityHeaders'

const ROOM = 'SecretRoomId1234567890'
const TOKEN = `${'A'.repeat(40)}.${'B'.repeat(22)}`

describe('routes', () => {
  test('[S76] a page request is logged by its route pattern, however its path is spelled; never by an id or a token', () => {
    expect(routeOf(`/b/${ROOM}`)).toBe('/b/:roomId')
    expect(routeOf(`/embed/${ROOM}?ui=0`)).toBe('/embed/:roomId')
    expect(routeOf(`/v/${TOKEN}`)).toBe('/v/:token')
    expect(routeOf(`/embed/e/${TOKEN}`)).toBe('/embed/e/:token')
    expect(routeOf('/_next/static/chunks/app.js')).toBe('/_next/…')
    expect(routeOf('/')).toBe('/')
    for (const spelled of [
      `/embed/%2e%2e/b/${ROOM}`,
      `/x/../b/${ROOM}`,
      `/%62/${ROOM}`,
      `/b/${ROOM}/more`,
      `/${ROOM}`,
      `/b\\${ROOM}`,
      `/v/${TOKEN}%`,
      `//${ROOM}/b`,
      `/sync/${ROOM}`,
      `/api/tokens/${TOKEN}`,
    ]) {
      const route = routeOf(spelled)
      expect(route, spelled).not.toContain(ROOM)
      expect(route, spelled).not.toContain('A'.repeat(16))
    }
  })

  test('[S79] only a plainly spelled embed route is an embed', () => {
    expect(isEmbedRoute(`/embed/${ROOM}`)).toBe(true)
    expect(isEmbedRoute(`/embed/v/${TOKEN}?zoom=fit`)).toBe(true)
    expect(isEmbedRoute(`/embed/e/${TOKEN}`)).toBe(true)
    for (const path of [
      `/embed/%2e%2e/b/${ROOM}`,
      `/embed/./${ROOM}`,
      `/embed/${ROOM}/`,
      `/embed/%41`,
      '/embed/',
      '/embed',
      `/b/${ROOM}`,
      `/embed/x/${ROOM}`,
    ]) {
      expect(isEmbedRoute(path), path).toBe(false)
    }
  })
})
