import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { expect, test } from 'vitest'
import { FileLocks } from './fileLock'

const dir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sketchroom-locks-'))

test('[S116] a board lock names its holder, and one left by a process that died is taken over', async () => {
  const where = dir()
  const locks = new FileLocks(where)
  const held = await locks.lock('board-a', 'purge')
  await expect(new FileLocks(where).lock('board-a', 'delete')).rejects.toThrow(`purge (process ${process.pid} on ${os.hostname()}`)
  // The file is named by a hash: a listing of the directory shows no board id.
  expect(fs.readdirSync(where).join()).not.toContain('board-a')
  await held.release()

  // A process that took the lock and died without releasing it.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  const gone = await locks.lock('board-b', 'purge')
  const file = path.join(where, fs.readdirSync(where)[0]!)
  fs.writeFileSync(file, JSON.stringify({ pid: Number(dead.stdout), host: os.hostname(), operation: 'purge', since: 1 }))
  const taken = await locks.lock('board-b', 'undelete')
  await taken.release()
  await gone.release()
  expect(fs.readdirSync(where)).toEqual([])
})
