import { openSqliteStore } from '../src/store/sqlite/index.js';
import { tempDir } from './helpers/server.js';
import { describeStoreConformance } from './store.conformance.js';

describeStoreConformance('sqlite', { make: async () => openSqliteStore(tempDir()) });
