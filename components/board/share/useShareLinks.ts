'use client'

import { useCallback, useEffect, useState } from 'react'
import { pagePath, type BoardLink } from '@/lib/links'

/** The links this page can hand out, as absolute URLs. */
export type ShareLinks = {
  edit: string | null
  view: { status: 'ready'; url: string } | { status: 'loading' } | { status: 'error'; message: string } | null
  /**
   * Makes every link handed out so far stop working (view-only, embeds, expiring links) and
   * shows the new view-only link; null where the page may not (it has no room id).
   */
  resetLinks: (() => Promise<void>) | null
}

interface LinksResponse {
  edit?: unknown
  view?: unknown
  error?: unknown
}

/** Asks the server for the room's links (`/api/links`, or `/api/links/reset` to revoke the old ones first). */
async function fetchViewLink(roomId: string, reset: boolean, signal?: AbortSignal): Promise<string> {
  const res = await fetch(reset ? '/api/links/reset' : '/api/links', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ roomId }),
    signal,
  })
  const body = (await res.json().catch(() => ({}))) as LinksResponse
  if (!res.ok || typeof body.view !== 'string') {
    const reason = typeof body.error === 'string' ? body.error : `the server answered ${res.status}`
    throw new Error(reset ? `Could not reset the links: ${reason}.` : `Could not make a view-only link: ${reason}.`)
  }
  return new URL(body.view, window.location.origin).href
}

/**
 * A room's page has its room id, so it can ask the server for a view-only link (and reset
 * the links). A token's page knows only its own link: handing out more than it was given
 * would be an escalation (and the server would refuse it).
 */
export function useShareLinks(link: BoardLink): ShareLinks {
  const origin = window.location.origin
  const [view, setView] = useState<ShareLinks['view']>(() =>
    link.kind === 'room' ? { status: 'loading' } : link.page === 'view' ? { status: 'ready', url: origin + pagePath(link) } : null,
  )
  useEffect(() => {
    if (link.kind !== 'room') return
    const controller = new AbortController()
    fetchViewLink(link.roomId, false, controller.signal)
      .then((url) => setView({ status: 'ready', url }))
      .catch((err: unknown) => {
        if (controller.signal.aborted) return
        setView({ status: 'error', message: err instanceof Error ? err.message : String(err) })
      })
    return () => controller.abort()
  }, [link, origin])
  const roomId = link.kind === 'room' ? link.roomId : null
  const reset = useCallback(async () => {
    if (!roomId) return
    // Throws with the sentence to show; the old link stays on screen until the new one is there.
    setView({ status: 'ready', url: await fetchViewLink(roomId, true) })
  }, [roomId])
  const edit = link.kind === 'room' || link.page === 'edit' ? origin + pagePath(link) : null
  return { edit, view, resetLinks: roomId ? reset : null }
}
