import { useEffect } from 'react'

/** Titles the mounted components ask for; the highest rank wins, the latest among equals. */
const claims: Array<{ title: string; rank: number }> = []
let observer: MutationObserver | null = null

function apply(): void {
  let top: (typeof claims)[number] | undefined
  for (const claim of claims) if (!top || claim.rank >= top.rank) top = claim
  if (top && document.title !== top.title) document.title = top.title
}

/**
 * Keeps the tab's title at `title` while the component is mounted (null: asks nothing).
 * Next.js streams a page's metadata after its content, so the server's `<title>` may land
 * after this has run; it is put back whenever the head's title changes. A page that says
 * what went wrong (rank 1) outranks the board it replaces (rank 0).
 *
 * @example
 * usePageTitle(`${boardTitle || 'Untitled board'} · sketchroom`)
 */
export function usePageTitle(title: string | null, rank = 0): void {
  useEffect(() => {
    if (title === null) return
    const claim = { title, rank }
    claims.push(claim)
    if (!observer) {
      observer = new MutationObserver(apply)
      observer.observe(document.head, { childList: true, subtree: true, characterData: true })
    }
    apply()
    return () => {
      claims.splice(claims.indexOf(claim), 1)
      if (claims.length > 0) return apply()
      observer?.disconnect()
      observer = null
    }
  }, [title, rank])
}
