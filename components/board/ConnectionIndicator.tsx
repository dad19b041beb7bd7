'use client'

import { useRef } from 'react'
import type { ConnectionState, SavingState } from '@/components/sync/connectBoard'
import { useBoard } from './BoardContext'

interface Shown {
  state: string
  label: string
  /** Said after the label where there is room (it is dropped on narrow screens). */
  detail?: string
  title: string
}

/** The one line that says how this page stands with the server; pure, for tests and the component. */
export function describeConnection(connection: ConnectionState, saving: SavingState, readOnly: boolean, everOnline: boolean): Shown {
  if (connection === 'offline') {
    return readOnly
      ? { state: 'offline', label: 'View only', detail: ' · offline', title: 'Not connected: showing what this device has' }
      : {
          state: 'offline',
          label: 'Offline',
          detail: ' — changes are kept on this device',
          title: 'Changes are kept in this browser and shared when the connection is back',
        }
  }
  if (saving === 'paused' && !readOnly) {
    return {
      state: 'paused',
      label: 'Saving paused',
      title: 'The server cannot save changes right now. They are kept in this browser and saved as soon as it can',
    }
  }
  if (connection === 'connecting') {
    return { state: 'connecting', label: everOnline ? 'Reconnecting…' : 'Connecting…', title: 'Changes are kept in this browser meanwhile' }
  }
  return readOnly
    ? { state: 'online', label: 'View only', title: 'You see this board live; it cannot be changed from this link' }
    : { state: 'online', label: 'Online', title: 'Changes are shared live' }
}

/** Whether this browser is talking to the server right now; edits are kept either way. */
export function ConnectionIndicator() {
  const { connection, saving, readOnly } = useBoard()
  const everOnline = useRef(false)
  if (connection === 'online') everOnline.current = true
  const shown = describeConnection(connection, saving, readOnly, everOnline.current)
  return (
    <span
      className={`sr-connection sr-connection--${shown.state}`}
      data-testid="connection"
      data-state={connection}
      data-saving={saving}
      title={shown.title}
      role="status"
    >
      <span className="sr-connection__dot" aria-hidden />
      <span className="sr-connection__label">{shown.label}</span>
      {shown.detail ? <span className="sr-connection__detail">{shown.detail}</span> : null}
    </span>
  )
}
