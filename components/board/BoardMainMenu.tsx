'use client'

import {
  DefaultMainMenu,
  EditSubmenu,
  ExtrasGroup,
  PreferencesGroup,
  TldrawUiMenuActionItem,
  TldrawUiMenuGroup,
  TldrawUiMenuSubmenu,
  ToggleTransparentBgMenuItem,
  ViewSubmenu,
} from 'tldraw'
import { DOWNLOAD_BOARD_ACTION, EXPORT_PDF_ACTION } from './exportName'

/**
 * tldraw's main menu, with our Export submenu: SVG and PNG as tldraw makes them, PDF
 * (one page per frame: a slide deck), and the board itself as a `.tldr` file, which
 * "Open a file" on the home page turns back into a board.
 */
export function BoardMainMenu() {
  return (
    <DefaultMainMenu>
      <TldrawUiMenuGroup id="basic">
        <EditSubmenu />
        <ViewSubmenu />
        <TldrawUiMenuSubmenu id="export-all-as" label="context-menu.export-all-as" size="small">
          <TldrawUiMenuGroup id="export-all-as-group">
            <TldrawUiMenuActionItem actionId="export-all-as-svg" />
            <TldrawUiMenuActionItem actionId="export-all-as-png" />
            <TldrawUiMenuActionItem actionId={EXPORT_PDF_ACTION} />
          </TldrawUiMenuGroup>
          <TldrawUiMenuGroup id="export-all-as-bg">
            <ToggleTransparentBgMenuItem />
          </TldrawUiMenuGroup>
          <TldrawUiMenuGroup id="export-board-file">
            <TldrawUiMenuActionItem actionId={DOWNLOAD_BOARD_ACTION} />
          </TldrawUiMenuGroup>
        </TldrawUiMenuSubmenu>
        <ExtrasGroup />
      </TldrawUiMenuGroup>
      <PreferencesGroup />
    </DefaultMainMenu>
  )
}
