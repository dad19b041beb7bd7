'use client'

import './people.css'
import {
  DefaultPeopleMenuAvatar,
  DefaultUserPresenceEditor,
  TldrawUiPopover,
  TldrawUiPopoverContent,
  TldrawUiPopoverTrigger,
  useEditor,
  usePeerIds,
  usePresence,
  useValue,
  type TLUserId,
} from 'tldraw'

/** Whoever `editor` follows now, or null. */
export function useFollowing(): TLUserId | null {
  const editor = useEditor()
  return useValue('sketchroom following', () => editor.getInstanceState().followingUserId, [editor])
}

/** One person on the board: a click follows them, a second click stops. */
function PersonRow({ userId }: { userId: TLUserId }) {
  const editor = useEditor()
  const presence = usePresence(userId)
  const following = useFollowing() === userId
  if (!presence) return null
  const name = presence.userName?.trim() || 'New user'
  return (
    <button
      type="button"
      className="sr-person"
      data-testid="person"
      data-following={following ? 'true' : undefined}
      aria-pressed={following}
      title={following ? `Stop following ${name}` : `Follow ${name}: see what they see`}
      onClick={() => (following ? editor.stopFollowingUser() : editor.startFollowingUser(userId))}
    >
      <span className="sr-person__dot" style={{ background: presence.color }} aria-hidden />
      <span className="sr-person__name">{name}</span>
      <span className="sr-person__action">{following ? 'Following · stop' : 'Follow'}</span>
    </button>
  )
}

/**
 * Everyone on the board, you included, always: your own name and colour can be set even
 * when you are alone (tldraw's own menu appears only with others, and turns into an
 * offline badge when the connection drops; the connection indicator says that already).
 */
export function PeopleMenu() {
  const editor = useEditor()
  const peers = usePeerIds()
  const color = useValue('sketchroom user color', () => editor.user.getColor(), [editor])
  const name = useValue('sketchroom user name', () => editor.user.getName(), [editor])
  return (
    <TldrawUiPopover id="sketchroom people">
      <TldrawUiPopoverTrigger>
        <button
          type="button"
          className="sr-people-button"
          data-testid="people-menu"
          title="People on this board: your name, colour, and whom to follow"
        >
          {peers.slice(-3).map((id) => (
            <DefaultPeopleMenuAvatar key={id} userId={id} />
          ))}
          {peers.length > 3 ? <span className="sr-avatar sr-avatar--more">+{peers.length - 3}</span> : null}
          {/* A phone shows one avatar of the others, and how many more there are. */}
          {peers.length > 1 ? <span className="sr-avatar sr-avatar--more-phone">+{peers.length - 1}</span> : null}
          <span className="sr-avatar" style={{ background: color }} data-testid="my-avatar">
            {(name.trim() || '?').slice(0, 1).toUpperCase()}
          </span>
        </button>
      </TldrawUiPopoverTrigger>
      <TldrawUiPopoverContent side="bottom" align="end" sideOffset={4} collisionPadding={8}>
        <div className="sr-people" data-testid="people-list">
          <p className="sr-people__heading">You</p>
          <DefaultUserPresenceEditor />
          <p className="sr-people__heading">{peers.length ? 'On this board — click to follow' : 'Nobody else is here right now'}</p>
          {peers.map((id) => (
            <PersonRow key={id} userId={id} />
          ))}
        </div>
      </TldrawUiPopoverContent>
    </TldrawUiPopover>
  )
}

/** While following someone: who, and a plain way to stop (panning or Escape stops too). */
export function FollowingBanner() {
  const editor = useEditor()
  const following = useFollowing()
  const presence = usePresence(following ?? ('user:none' as TLUserId))
  if (!following) return null
  const name = presence?.userName?.trim() || 'someone'
  return (
    <div className="sr-following" role="status" data-testid="following-banner" style={{ borderColor: presence?.color }}>
      <span>Following {name}</span>
      <button type="button" data-testid="stop-following" onClick={() => editor.stopFollowingUser()}>
        Stop following
      </button>
    </div>
  )
}
