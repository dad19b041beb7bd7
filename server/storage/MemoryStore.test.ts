import { MemoryStore, memoryStoreData } from './MemoryStore'
import { storeContract } from './Store.contract'

storeContract('memory', async () => {
  const data = memoryStoreData()
  return { store: new MemoryStore(data), reopen: async () => new MemoryStore(data) }
})
