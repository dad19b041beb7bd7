import { busContract } from './Bus.contract'
import { type InProcessBus, InProcessHub } from './InProcessBus'

busContract('in-process', async () => {
  const hub = new InProcessHub()
  const buses: [InProcessBus, InProcessBus, InProcessBus] = [hub.bus(), hub.bus(), hub.bus()]
  return {
    buses,
    cut: (bus) => (bus as InProcessBus).cutOff(),
    restore: (bus) => (bus as InProcessBus).restore(),
    close: async () => {
      for (const bus of buses) await bus.close()
    },
  }
})
