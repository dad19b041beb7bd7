'use client'

import { BOARD_DELETED_MESSAGE, LINK_RESET_MESSAGE } from '@/lib/links'
import { usePageTitle } from './usePageTitle'

/**
 * What an expired, forged or mistyped link shows instead of a board: the server's reason
 * in words, and a way on. Inside an iframe it stays small and links out to a new tab.
 */
export function LinkProblem({ message, embedded = false }: { message: string; embedded?: boolean }) {
  const expired = /expired/i.test(message)
  const reset = message === LINK_RESET_MESSAGE
  const deleted = message === BOARD_DELETED_MESSAGE
  // A link that worked once (expired, or reset by the board's editors) needs a new one.
  const once = expired || reset
  const heading = deleted
    ? 'This board was deleted'
    : expired
      ? 'This link has expired'
      : reset
        ? 'This link was reset'
        : 'This link does not work'
  const detail = sentence(message)
  // The page's own title was chosen before the server had looked at the link.
  usePageTitle(
    embedded ? null : `${deleted ? 'Board deleted' : expired ? 'Link expired' : reset ? 'Link reset' : 'Link not valid'} · sketchroom`,
    1,
  )
  return (
    <main className="sr-link-problem" role="alert" data-testid="link-problem">
      <h1>{heading}</h1>
      {/* The server's reason, unless it only repeats the heading. */}
      {detail.toLowerCase() === `${heading.toLowerCase()}.` ? null : <p>{detail}</p>}
      <p>
        {deleted
          ? 'It is in the trash of this server; whoever runs the server can bring it back for a while.'
          : once
            ? 'Ask whoever shared it for a new link.'
            : 'Check that it was copied whole, or ask whoever shared it for a new one.'}
      </p>
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
