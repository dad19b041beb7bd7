'use client'

import { useBoard } from './BoardContext'

const CONNECTION_LABEL = { online: 'Online', connecting: 'Connecting…', offline: 'Offline' } as const

/** Whether this browser is talking to the server right now; edits are kept either way. */
export function ConnectionIndicator() {
  const { connection } = useBoard()
  return (
    <span
      className={`sr-connection sr-connection--${connection}`}
      data-testid="connection"
      data-state={connection}
      title={
        connection === 'online' ? 'Changes are shared live' : 'Changes are kept in this browser and shared when the connection is back'
      }
    >
      <span className="sr-connection__dot" aria-hidden />
      {CONNECTION_LABEL[connection]}
    </span>
  )
}
