'use client'

import { pagePath } from '@/lib/links'
import { useBoard } from '../BoardContext'

/** In an embed: the same board as a full page, in a new tab. */
export function OpenInAppLink() {
  const { link } = useBoard()
  return (
    <a className="sr-open-link" href={pagePath(link)} target="_blank" rel="noopener" data-testid="open-in-app">
      Open ↗
    </a>
  )
}
