'use client'

import { useEffect, useRef, useState } from 'react'
import { connectBoard, INITIAL_BOARD_STATE, type BoardState, type ConnectBoardOptions } from './connectBoard'

/** What a page chooses; the rest of {@link ConnectBoardOptions} keeps its browser defaults. */
export type YjsStoreOptions = Pick<ConnectBoardOptions, 'room' | 'readOnly' | 'origin' | 'assets' | 'serverWaitMs' | 'onEvent'>

/**
 * One board connection ({@link connectBoard}) for as long as the component is mounted.
 * It is opened in an effect and disposed on unmount, so StrictMode's mount–unmount–mount
 * leaves one socket, not two.
 *
 * @example
 * const state = useYjsStore({ room: roomId })
 * if (state.status === 'synced') return <Tldraw store={state.store} />
 */
export function useYjsStore(options: YjsStoreOptions): BoardState {
  const { room, readOnly, origin, assets, serverWaitMs, onEvent } = options
  const [state, setState] = useState<BoardState>(INITIAL_BOARD_STATE)
  // The latest listener, without reconnecting when it changes.
  const onEventRef = useRef(onEvent)
  useEffect(() => {
    onEventRef.current = onEvent
  }, [onEvent])
  useEffect(() => {
    const board = connectBoard({ room, readOnly, origin, assets, serverWaitMs, onEvent: (event) => onEventRef.current?.(event) }, setState)
    return () => board.dispose()
  }, [room, readOnly, origin, assets, serverWaitMs])
  return state
}
