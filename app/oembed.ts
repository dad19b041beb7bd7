import type { Metadata } from 'next'
import { headers } from 'next/headers'
import { oembedUrl, PUBLIC_ORIGIN_HEADER } from '@/lib/links'

/**
 * The oEmbed discovery `<link>` for a board or view page, so a pasted link unfurls as a
 * live board in apps that speak oEmbed. The server tells the page its public origin (by
 * the same rule as its API and upgrade); when it does not (the request's Host is not one
 * links may name), the page carries no discovery link rather than one on a guessed origin.
 */
export async function oembedAlternates(pagePath: string): Promise<Metadata['alternates']> {
  const origin = (await headers()).get(PUBLIC_ORIGIN_HEADER)
  if (!origin) return undefined
  return { types: { 'application/json+oembed': oembedUrl(origin, origin + pagePath) } }
}

/** Board links are capabilities: keep them out of search engines that come across one. */
export const NOINDEX = { index: false, follow: false } as const
