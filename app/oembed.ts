import type { Metadata } from 'next'
import { headers } from 'next/headers'
import { oembedUrl, PUBLIC_ORIGIN_HEADER, publicOrigin } from '@/lib/links'

/**
 * The oEmbed discovery `<link>` for a board or view page, so a pasted link unfurls as a
 * live board in apps that speak oEmbed. The server tells the page its public origin (by
 * the same rule as its API and upgrade); without it (a page rendered some other way) the
 * Host the page was asked for, trusting no forwarded header.
 */
export async function oembedAlternates(pagePath: string): Promise<Metadata['alternates']> {
  const requestHeaders = await headers()
  const origin = requestHeaders.get(PUBLIC_ORIGIN_HEADER) ?? publicOrigin({ trustProxy: false }, requestHeaders)
  return { types: { 'application/json+oembed': oembedUrl(origin, origin + pagePath) } }
}

/** Board links are capabilities: keep them out of search engines that come across one. */
export const NOINDEX = { index: false, follow: false } as const
