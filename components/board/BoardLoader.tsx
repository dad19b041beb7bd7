'use client'

import dynamic from 'next/dynamic'
import { useEffect, useState } from 'react'
import type { BoardLink, EmbedOptions, LinkMode } from '@/lib/links'
import { LinkProblem } from './LinkProblem'

// tldraw measures the window and talks to IndexedDB: render it in the browser only.
const Board = dynamic(() => import('./Board'), {
  ssr: false,
  loading: () => <div className="sr-loading">Opening the board…</div>,
})

type TokenCheck =
  | { status: 'checking' }
  | { status: 'valid'; mode: LinkMode; expiresAt: number | null }
  | { status: 'invalid'; message: string }
  /** No network: the board opens from this device's copy, as the page's own mode; the server checks the token on reconnect. */
  | { status: 'unchecked' }

interface TokenResponse {
  mode?: unknown
  expiresAt?: unknown
  error?: unknown
}

/**
 * Asks the server what a token grants before opening a socket with it, so an expired or
 * forged link gets a page that says so (the socket would be closed with 4401 anyway).
 */
function useTokenCheck(token: string | null): TokenCheck {
  const [check, setCheck] = useState<TokenCheck>({ status: 'checking' })
  useEffect(() => {
    if (token === null) return
    setCheck({ status: 'checking' })
    const controller = new AbortController()
    fetch(`/api/tokens/${encodeURIComponent(token)}`, { signal: controller.signal, cache: 'no-store' })
      .then(async (res) => {
        const body = (await res.json().catch(() => ({}))) as TokenResponse
        if (res.ok && (body.mode === 'view' || body.mode === 'edit')) {
          setCheck({ status: 'valid', mode: body.mode, expiresAt: typeof body.expiresAt === 'number' ? body.expiresAt : null })
          return
        }
        const reason = typeof body.error === 'string' ? body.error : `the server could not check this link (it answered ${res.status})`
        setCheck({ status: 'invalid', message: reason })
      })
      .catch((err: unknown) => {
        if (controller.signal.aborted) return
        if (typeof navigator !== 'undefined' && navigator.onLine === false) {
          setCheck({ status: 'unchecked' })
          return
        }
        setCheck({
          status: 'invalid',
          message: `the server could not be reached to check this link (${err instanceof Error ? err.message : String(err)})`,
        })
      })
    return () => controller.abort()
  }, [token])
  return check
}

/** The board of any link: a room id straight away, a token once the server has vouched for it. */
export default function BoardLoader({ link, embed = null }: { link: BoardLink; embed?: EmbedOptions | null }) {
  const check = useTokenCheck(link.kind === 'token' ? link.token : null)
  if (link.kind === 'room') return <Board link={link} readOnly={embed?.readonly ?? false} embed={embed} />
  if (check.status === 'checking') return <div className="sr-loading">Opening the board…</div>
  if (check.status === 'invalid') return <LinkProblem message={check.message} embedded={Boolean(embed)} />
  // A /v/ page stays read-only even for an edit token, and a view token is read-only
  // wherever it is opened (the server would drop its writes anyway).
  const mode = check.status === 'valid' ? check.mode : link.page
  const readOnly = link.page === 'view' || mode === 'view' || (embed?.readonly ?? false)
  return <Board link={link} readOnly={readOnly} expiresAt={check.status === 'valid' ? check.expiresAt : null} embed={embed} />
}
