'use client'

import { useEffect } from 'react'

/**
 * What an expired, forged or mistyped link shows instead of a board: the server's reason
 * in words, and a way on. Inside an iframe it stays small and links out to a new tab.
 */
export function LinkProblem({ message, embedded = false }: { message: string; embedded?: boolean }) {
  const expired = /expired/i.test(message)
  const heading = expired ? 'This link has expired' : 'This link does not work'
  const detail = sentence(message)
  // The page's own title was chosen before the server had looked at the link.
  useEffect(() => {
    if (!embedded) document.title = `${expired ? 'Link expired' : 'Link not valid'} · sketchroom`
  }, [expired, embedded])
  return (
    <main className="sr-link-problem" role="alert" data-testid="link-problem">
      <h1>{heading}</h1>
      {/* The server's reason, unless it only repeats the heading. */}
      {detail.toLowerCase() === `${heading.toLowerCase()}.` ? null : <p>{detail}</p>}
      <p>{expired ? 'Ask whoever shared it for a new link.' : 'Check that it was copied whole, or ask whoever shared it for a new one.'}</p>
      {embedded ? null : (
        <p>
          <a href="/">Go to sketchroom</a>
        </p>
      )}
    </main>
  )
}

/** Server reasons are lower-case phrases ("this link has expired"); show them as a sentence. */
function sentence(message: string): string {
  const trimmed = message.trim()
  if (!trimmed) return 'The server did not accept this link.'
  const capital = trimmed[0]!.toUpperCase() + trimmed.slice(1)
  return /[.!?]$/.test(capital) ? capital : `${capital}.`
}
