import { openSqliteStore } from '../src/store/sqlite/index.js';
import { tempDir } from './helpers/server.js';
import { describeChannelStoreConformance } from './store.conformance.channels.js';
import { describeEventStoreConformance } from './store.conformance.events.js';
import { describeStoreConformance } from './store.conformance.js';
import { describeSvixStoreConformance } from './store.conformance.svix.js';

const harness = { make: async () => openSqliteStore(tempDir()) };
describeStoreConformance('sqlite', harness);
describeSvixStoreConformance('sqlite', harness);
describeEventStoreConformance('sqlite', harness);
describeChannelStoreConformance('sqlite', harness);
