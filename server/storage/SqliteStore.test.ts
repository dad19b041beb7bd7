import path from 'node:path'
import { tempDir } from '../../test/helpers'
import { SqliteStore } from './SqliteStore'
import { storeContract } from './Store.contract'

storeContract('SQLite', async () => {
  const file = path.join(tempDir(), 'store.db')
  return { store: new SqliteStore({ file }), reopen: async () => new SqliteStore({ file }) }
})
