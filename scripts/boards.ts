/**
 * `npm run boards -- <command>`: the boards of the server's store (SQLite under DATA_DIR,
 * or DATABASE_URL), administered while the server runs:
 *
 *   list [--json]                          every board, the trash included
 *   show <id> [--json]                     one board: its catalog row, versions, log
 *   export <id> [--format tldr|yjs] [--out <file>]
 *                                          a .tldr file tldraw opens, or the Yjs state
 *   import <file.tldr> [--title <title>]   a new board from a .tldr file; prints its link
 *   delete <id>                            to the trash: open sockets are closed with 4410
 *   undelete <id>                          out of the trash
 *   purge <id>                             a board in the trash, gone for good
 *
 * A running server notices a delete within BOARD_CHECK_INTERVAL_MS (each loaded room reads
 * its catalog row again that often). Changes of one board take its lock: a second one at
 * the same time is refused (exit code 3).
 */
import fs from 'node:fs'
import path from 'node:path'
import pino from 'pino'
import { roomIdProblem } from '../lib/roomId'
import { AdminError, BoardAdmin } from '../server/admin/BoardAdmin'
import { openStore } from '../server/backends'
import { BoardRules } from '../server/board/BoardRules'
import { previewFile } from '../server/http/previews'
import { boardSettleMs, sqliteFile } from '../server/config'
import { BoardBusyError, type BoardInfo, type Store } from '../server/storage/Store'
import { commandLine, fail, plural } from './cli'

const USAGE = [
  'npm run boards -- list [--json]',
  '       npm run boards -- show <id> [--json]',
  '       npm run boards -- export <id> [--format tldr|yjs] [--out <file>]',
  '       npm run boards -- import <file.tldr> [--title <title>]',
  '       npm run boards -- delete|undelete|purge <id>',
].join('\n')

const { config, values, args } = commandLine('boards', USAGE, {
  json: { type: 'boolean', default: false },
  format: { type: 'string', default: 'tldr' },
  out: { type: 'string', short: 'o' },
  title: { type: 'string' },
})
const [command, target, ...extra] = args
const COMMANDS = ['list', 'show', 'export', 'import', 'delete', 'undelete', 'purge']
if (!command) fail('a command is missing')
if (!COMMANDS.includes(command)) fail(`unknown command ${JSON.stringify(command)}`)
if (extra.length > 0) fail(`unexpected ${JSON.stringify(extra[0])}`)
if (command === 'list') {
  if (target !== undefined) fail('list takes no board id')
} else {
  if (!target) fail(command === 'import' ? 'the .tldr file is missing' : 'the board id is missing')
  if (command !== 'import') {
    const problem = roomIdProblem(target)
    if (problem) fail(`${problem} (a board id is the part of its link after /b/)`)
  }
}
if (values.format !== 'tldr' && values.format !== 'yjs') fail('--format must be tldr or yjs')
if (!config.DATABASE_URL && !fs.existsSync(sqliteFile(config))) {
  fail(
    `DATA_DIR=${config.DATA_DIR} (${path.resolve(config.DATA_DIR)}) holds no sketchroom.db: set DATA_DIR to the server's data directory`,
    1,
  )
}

const origin = config.PUBLIC_URL ?? `http://localhost:${config.PORT}`
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())
const shortTime = (ms: number | null) => (ms === null ? '-' : new Date(ms).toISOString().slice(0, 16).replace('T', ' '))
const asJson = (b: BoardInfo) => ({
  id: b.roomId,
  title: b.title,
  shapes: b.shapes,
  bytes: b.bytes,
  createdAt: iso(b.createdAt),
  changedAt: iso(b.changedAt),
  openedAt: iso(b.openedAt),
  deletedAt: iso(b.deletedAt),
})

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

async function run(store: Store): Promise<void> {
  const admin = new BoardAdmin({
    store,
    rules: new BoardRules({ maxRecordBytes: config.MAX_RECORD_BYTES }),
    assetsDir: path.join(path.resolve(config.DATA_DIR), 'assets'),
    settleMs: boardSettleMs(config),
    boardFiles: (roomId) => [previewFile(path.join(path.resolve(config.DATA_DIR), 'previews'), roomId)],
  })
  const id = target!
  switch (command) {
    case 'list': {
      const boards = await admin.list()
      if (values.json) return console.log(JSON.stringify(boards.map(asJson), null, 2))
      if (boards.length === 0) return console.error('boards: no boards in this store yet')
      const rows = [['ID', 'TITLE', 'SHAPES', 'BYTES', 'LAST CHANGE', 'LAST OPENED', 'TRASH']]
      for (const b of boards) {
        const title = b.title.length > 40 ? `${b.title.slice(0, 39)}…` : b.title || '(untitled)'
        rows.push([
          b.roomId,
          title,
          String(b.shapes),
          String(b.bytes),
          shortTime(b.changedAt),
          shortTime(b.openedAt),
          b.deletedAt === null ? '' : `since ${shortTime(b.deletedAt)}`,
        ])
      }
      console.log(table(rows))
      const trashed = boards.filter((b) => b.deletedAt !== null).length
      console.error(`boards: ${plural(boards.length, 'board')}${trashed ? `, ${trashed} of them in the trash` : ''}`)
      return
    }
    case 'show': {
      const { board, versions, log } = await admin.show(id)
      if (values.json) {
        return console.log(
          JSON.stringify(
            {
              ...asJson(board),
              link: `${origin}/b/${board.roomId}`,
              linkGeneration: board.linkGeneration,
              log,
              versions: versions.map((v) => ({ ...v, createdAt: iso(v.createdAt) })),
            },
            null,
            2,
          ),
        )
      }
      const lines: Array<[string, string]> = [
        ['id', board.roomId],
        ['link', `${origin}/b/${board.roomId}`],
        ['title', board.title || '(untitled)'],
        ['shapes', String(board.shapes)],
        ['bytes', `${board.bytes} (the document as last measured)`],
        ['created', iso(board.createdAt)!],
        ['last change', iso(board.changedAt) ?? '-'],
        ['last opened', iso(board.openedAt) ?? '-'],
        ['trash', board.deletedAt === null ? 'no' : `since ${iso(board.deletedAt)}`],
        ['link resets', String(board.linkGeneration)],
        ['stored log', `${plural(log.entries, 'entry', 'entries')}, ${log.bytes} bytes`],
        ['versions', `${versions.length} (${versions.reduce((n, v) => n + v.storedBytes, 0)} bytes stored)`],
      ]
      for (const v of versions.slice(0, 10))
        lines.push(['', `${iso(v.createdAt)}  ${v.reason}${v.name ? ` "${v.name}"` : ''}  ${v.shapes} shapes`])
      if (versions.length > 10) lines.push(['', `… and ${versions.length - 10} older`])
      const width = Math.max(...lines.map(([k]) => k.length))
      console.log(lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n'))
      return
    }
    case 'export': {
      let bytes: Uint8Array
      let what: string
      if (values.format === 'yjs') {
        bytes = await admin.state(id)
        what = 'Yjs state'
      } else {
        const { file } = await admin.exportTldr(id)
        bytes = Buffer.from(JSON.stringify(file))
        what = `.tldr file (${plural(file.records.length, 'record')})`
      }
      if (values.out) {
        fs.writeFileSync(values.out, bytes)
        console.error(`boards: exported the ${what}, ${bytes.length} bytes → ${path.resolve(values.out)}`)
      } else {
        if (process.stdout.isTTY && values.format === 'yjs') fail('the Yjs state is binary: use --out <file> or redirect it', 2)
        await new Promise<void>((resolve, reject) => process.stdout.write(bytes, (err) => (err ? reject(err) : resolve())))
      }
      return
    }
    case 'import': {
      let text: string
      try {
        text = fs.readFileSync(id, 'utf8')
      } catch (err) {
        return fail(`could not read ${id}: ${err instanceof Error ? err.message : String(err)}`, 1)
      }
      const title = values.title ?? path.basename(id).replace(/\.tldr$/i, '')
      const made = await admin.importTldr(text, title)
      const notes = [plural(made.shapes, 'shape'), plural(made.images, 'image')]
      if (made.dropped) notes.push(`${plural(made.dropped, 'session record')} left out`)
      console.error(`boards: imported ${path.basename(id)} as a new board "${title}" (${notes.join(', ')})`)
      console.log(`${origin}/b/${made.roomId}`)
      return
    }
    case 'delete': {
      await admin.delete(id)
      const purgeAt = Date.now() + config.BOARD_TRASH_DAYS
      console.log(
        `boards: the board is in the trash; a running server closes its connections within ${config.BOARD_CHECK_INTERVAL_MS / 1000} s. ` +
          `It is purged after BOARD_TRASH_DAYS (${new Date(purgeAt).toISOString().slice(0, 10)}); npm run boards -- undelete <id> brings it back`,
      )
      return
    }
    case 'undelete': {
      await admin.undelete(id)
      console.log('boards: the board is out of the trash; its links work again')
      return
    }
    case 'purge': {
      const result = await admin.purge(id, (ms) =>
        console.error(`boards: waiting ${Math.ceil(ms / 1000)} s, so running servers have closed the board before it is purged`),
      )
      console.log(
        `boards: purged the board, ${plural(result.versions, 'version')} and ${plural(result.assetsDeleted, 'image')} only it used` +
          (result.assetsKept ? ` (${plural(result.assetsKept, 'image')} other boards use too kept)` : ''),
      )
      return
    }
  }
}

let opened: Awaited<ReturnType<typeof openStore>> | null = null
try {
  opened = await openStore(config, pino({ level: 'silent' }))
  await run(opened.store)
} catch (err) {
  await opened?.store.close().catch(() => undefined)
  if (err instanceof BoardBusyError) fail(err.message, 3)
  if (err instanceof AdminError) fail(err.message, 1)
  fail(`failed: ${err instanceof Error ? err.message : String(err)}`, 1)
}
await opened.store.close()
