import type { Metadata } from 'next'
import { headers } from 'next/headers'
import { oembedUrl, publicOrigin } from '@/lib/links'

/**
 * The oEmbed discovery `<link>` for a board or view page, so a pasted link unfurls as a
 * live board in apps that speak oEmbed. Read per request: `PUBLIC_URL` is deploy-time
 * config, and without it the link follows the Host the page was asked for.
 */
export async function oembedAlternates(pagePath: string): Promise<Metadata['alternates']> {
  const origin = publicOrigin(process.env.PUBLIC_URL, await headers())
  return { types: { 'application/json+oembed': oembedUrl(origin, origin + pagePath) } }
}

/** Board links are capabilities: keep them out of search engines that come across one. */
export const NOINDEX = { index: false, follow: false } as const
