import type { Metadata } from 'next'
import BoardLoader from '@/components/board/BoardLoader'
import { LinkProblem } from '@/components/board/LinkProblem'
import { looksLikeToken } from '@/lib/links'
import { boardCard, NOINDEX, oembedAlternates } from '../../oembed'

type Params = { params: Promise<{ token: string }> }

export async function generateMetadata({ params }: Params): Promise<Metadata> {
  const { token } = await params
  if (!looksLikeToken(token)) return { title: 'Link not valid · sketchroom' }
  return { ...(await boardCard('View-only board')), robots: NOINDEX, alternates: await oembedAlternates(`/v/${token}`) }
}

/** A view-only link: the board live, cursors included, nothing editable. */
export default async function ViewPage({ params }: Params) {
  const { token } = await params
  if (!looksLikeToken(token)) return <LinkProblem message="this link is not valid" />
  return <BoardLoader link={{ kind: 'token', token, page: 'view' }} />
}
