'use client'

import { usePathname } from 'next/navigation'
import { useEffect } from 'react'

/** Set by next.config.js at build time: the same id Next.js gives the build. */
const BUILD_ID = process.env.NEXT_PUBLIC_SKETCHROOM_BUILD_ID

const enabled = () => process.env.NODE_ENV === 'production' && Boolean(BUILD_ID) && 'serviceWorker' in navigator

/**
 * Registers public/sw.js, versioned by the build id, so the app shell and the boards
 * this browser has opened load offline. From the app's own bundle (a same-origin script),
 * so a nonce-based Content-Security-Policy needs nothing but `worker-src 'self'` for it.
 * Not in development: a cached dev shell would only confuse.
 *
 * What this page loaded before the worker took over never went through it: the page's
 * address and every file it fetched are handed to the worker to keep, on each page
 * (client-side navigations included) and for files loaded later.
 */
export function ServiceWorkerRegistration() {
  const pathname = usePathname()
  useEffect(() => {
    if (!enabled()) return
    navigator.serviceWorker.register(`/sw.js?v=${encodeURIComponent(BUILD_ID!)}`, { scope: '/' }).catch((err: unknown) => {
      console.warn('[sketchroom] no offline support: the service worker did not register', err)
    })
  }, [])
  useEffect(() => {
    if (!enabled()) return
    let observer: PerformanceObserver | null = null
    let stopped = false
    void navigator.serviceWorker.ready.then((registration) => {
      if (stopped) return
      const keep = (urls: string[]) => registration.active?.postMessage({ type: 'keep', urls })
      keep([window.location.href])
      observer = new PerformanceObserver((list) => keep(list.getEntries().map((entry) => entry.name)))
      observer.observe({ type: 'resource', buffered: true })
    })
    return () => {
      stopped = true
      observer?.disconnect()
    }
  }, [pathname])
  return null
}
