import { MemoryStore, type MemoryStoreData } from './MemoryStore'
import { storeContract } from './Store.contract'

storeContract('memory', async () => {
  const data: MemoryStoreData = new Map()
  return { store: new MemoryStore(data), reopen: async () => new MemoryStore(data) }
})
