import { openSqliteStore } from '../src/store/sqlite/index.js';
import { tempDir } from './helpers/server.js';
import { describeEventStoreConformance } from './store.conformance.events.js';
import { describeStoreConformance } from './store.conformance.js';
import { describeSvixStoreConformance } from './store.conformance.svix.js';

const harness = { make: async () => openSqliteStore(tempDir()) };
describeStoreConformance('sqlite', harness);
describeSvixStoreConformance('sqlite', harness);
describeEventStoreConformance('sqlite', harness);
