import BoardLoader from '@/components/board/BoardLoader'
import { LinkProblem } from '@/components/board/LinkProblem'
import { looksLikeToken } from '@/lib/links'

export const metadata = { title: 'Board · sketchroom', robots: { index: false, follow: false } }

/** An edit link by token (`npm run token -- --mode edit`), usually one that expires. */
export default async function TokenEditPage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params
  if (!looksLikeToken(token)) return <LinkProblem message="this link is not valid" />
  return <BoardLoader link={{ kind: 'token', token, page: 'edit' }} />
}
