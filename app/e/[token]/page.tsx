import type { Metadata } from 'next'
import BoardLoader from '@/components/board/BoardLoader'
import { LinkProblem } from '@/components/board/LinkProblem'
import { looksLikeToken } from '@/lib/links'
import { boardCard, NOINDEX } from '../../oembed'

export async function generateMetadata({ params }: { params: Promise<{ token: string }> }): Promise<Metadata> {
  const { token } = await params
  if (!looksLikeToken(token)) return { title: 'Link not valid · sketchroom' }
  // The card's image is the board's view-link preview; this page's own (edit) token is in no tag.
  return { ...(await boardCard('Board')), robots: NOINDEX }
}

/** An edit link by token (`npm run token -- --mode edit`), usually one that expires. */
export default async function TokenEditPage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params
  if (!looksLikeToken(token)) return <LinkProblem message="this link is not valid" />
  return <BoardLoader link={{ kind: 'token', token, page: 'edit' }} />
}
