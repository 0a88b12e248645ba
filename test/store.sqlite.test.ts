import { openSqliteStore } from '../src/store/sqlite/index.js';
import { describeStoreConformance } from './store.conformance.js';
import { tempDir } from './helpers/server.js';

describeStoreConformance('sqlite', { make: async () => openSqliteStore(tempDir()) });
