'use client'

import { useEffect } from 'react'

/** Set by next.config.js at build time: the same id Next.js gives the build. */
const BUILD_ID = process.env.NEXT_PUBLIC_SKETCHROOM_BUILD_ID

/**
 * Registers public/sw.js, versioned by the build id, so the app shell and the boards
 * this browser has opened load offline. From the app's own bundle (a same-origin script),
 * so a nonce-based Content-Security-Policy needs nothing but `worker-src 'self'` for it.
 * Not in development: a cached dev shell would only confuse.
 */
export function ServiceWorkerRegistration() {
  useEffect(() => {
    if (process.env.NODE_ENV !== 'production' || !BUILD_ID || !('serviceWorker' in navigator)) return
    navigator.serviceWorker.register(`/sw.js?v=${encodeURIComponent(BUILD_ID)}`, { scope: '/' }).catch((err: unknown) => {
      console.warn('[sketchroom] no offline support: the service worker did not register', err)
    })
  }, [])
  return null
}
