'use client'

import { useEffect, useState } from 'react'
import { pagePath, type BoardLink } from '@/lib/links'

/** The links this page can hand out, as absolute URLs. */
export type ShareLinks = {
  edit: string | null
  view: { status: 'ready'; url: string } | { status: 'loading' } | { status: 'error'; message: string } | null
}

interface LinksResponse {
  edit?: unknown
  view?: unknown
  error?: unknown
}

/**
 * A room's page has its room id, so it can ask the server for a view-only link. A token's
 * page knows only its own link: handing out more than it was given would be an escalation
 * (and the server would refuse it).
 */
export function useShareLinks(link: BoardLink): ShareLinks {
  const origin = window.location.origin
  const [view, setView] = useState<ShareLinks['view']>(() =>
    link.kind === 'room' ? { status: 'loading' } : link.page === 'view' ? { status: 'ready', url: origin + pagePath(link) } : null,
  )
  useEffect(() => {
    if (link.kind !== 'room') return
    const controller = new AbortController()
    fetch('/api/links', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ roomId: link.roomId }),
      signal: controller.signal,
    })
      .then(async (res) => {
        const body = (await res.json().catch(() => ({}))) as LinksResponse
        if (!res.ok || typeof body.view !== 'string') {
          const reason = typeof body.error === 'string' ? body.error : `the server answered ${res.status}`
          throw new Error(`Could not make a view-only link: ${reason}.`)
        }
        setView({ status: 'ready', url: new URL(body.view, origin).href })
      })
      .catch((err: unknown) => {
        if (controller.signal.aborted) return
        setView({ status: 'error', message: err instanceof Error ? err.message : String(err) })
      })
    return () => controller.abort()
  }, [link, origin])
  const edit = link.kind === 'room' || link.page === 'edit' ? origin + pagePath(link) : null
  return { edit, view }
}
