import BoardLoader from '@/components/board/BoardLoader'
import { LinkProblem } from '@/components/board/LinkProblem'
import { looksLikeToken, parseEmbedOptions } from '@/lib/links'

export const metadata = { title: 'sketchroom board' }

type Props = {
  params: Promise<{ token: string }>
  searchParams: Promise<Record<string, string | string[] | undefined>>
}

/** A view-link board for an iframe: no app chrome; `?ui=0&zoom=fit&theme=dark`. */
export default async function EmbedViewTokenPage({ params, searchParams }: Props) {
  const { token } = await params
  if (!looksLikeToken(token)) return <LinkProblem message="this link is not valid" embedded />
  return <BoardLoader link={{ kind: 'token', token, page: 'view' }} embed={parseEmbedOptions(await searchParams)} />
}
