/*
 * sketchroom's service worker: the app shell and the board pages this browser has opened
 * keep working offline (the board itself comes from IndexedDB, y-indexeddb's copy).
 *
 * Versioned by the Next.js build id in its own URL (`/sw.js?v=<build id>`, registered by
 * components/ServiceWorkerRegistration.tsx): a new release registers a new URL, so the
 * browser installs this worker afresh; it takes over at once and drops every cache of the
 * release before. Never cached, never answered from a cache: the sync socket, the API
 * (links, tokens, assets) and the health and metrics endpoints.
 */
const VERSION = new URL(self.location.href).searchParams.get('v') || 'dev'
const PREFIX = 'sketchroom-'
const CACHE = `${PREFIX}${VERSION}`
/** What a first visit caches even before it is asked for again. */
const SHELL = ['/']

/** Paths that must always reach the server. */
function isServerOnly(path) {
  return path === '/sync' || path.startsWith('/sync/') || path.startsWith('/api/') || path === '/healthz' || path === '/metrics'
}

/** Content-hashed or versioned files: the same URL is always the same bytes. */
function isImmutable(path) {
  return path.startsWith('/_next/static/') || path.startsWith('/tldraw-assets/')
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .catch(() => undefined)
      .then(() => self.skipWaiting()),
  )
})

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((name) => name.startsWith(PREFIX) && name !== CACHE).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  )
})

async function putInCache(request, response) {
  if (!response || !response.ok || response.type !== 'basic') return
  const cache = await caches.open(CACHE)
  await cache.put(request, response)
}

/** Pages: the network first (always the newest shell), the cached copy when offline. */
async function networkFirst(request) {
  try {
    const response = await fetch(request)
    await putInCache(request, response.clone())
    return response
  } catch (err) {
    const cached = await caches.match(request, { cacheName: CACHE })
    if (cached) return cached
    throw err
  }
}

/** Hashed files: the cache first; they never change under the same URL. */
async function cacheFirst(request) {
  const cached = await caches.match(request, { cacheName: CACHE })
  if (cached) return cached
  const response = await fetch(request)
  await putInCache(request, response.clone())
  return response
}

/** Whether a URL may be answered from the cache at all. */
function isCacheable(url) {
  // React Server Component payloads of client-side navigations vary by header: not cached.
  return url.origin === self.location.origin && !isServerOnly(url.pathname) && !url.searchParams.has('_rsc')
}

self.addEventListener('fetch', (event) => {
  const request = event.request
  if (request.method !== 'GET' || request.headers.get('RSC')) return
  const url = new URL(request.url)
  if (!isCacheable(url)) return
  event.respondWith(isImmutable(url.pathname) ? cacheFirst(request) : networkFirst(request))
})

/**
 * A page hands over its own address and the files it loaded before this worker took
 * over (see ServiceWorkerRegistration): pages are fetched afresh, files kept once.
 */
self.addEventListener('message', (event) => {
  const data = event.data
  if (!data || data.type !== 'keep' || !Array.isArray(data.urls)) return
  event.waitUntil(
    caches.open(CACHE).then((cache) =>
      Promise.all(
        data.urls.map(async (raw) => {
          let url
          try {
            url = new URL(raw, self.location.origin)
          } catch {
            return
          }
          if (!isCacheable(url)) return
          if (isImmutable(url.pathname) && (await cache.match(url.href))) return
          const response = await fetch(url.href, { credentials: 'same-origin' }).catch(() => null)
          await putInCache(url.href, response)
        }),
      ),
    ),
  )
})
