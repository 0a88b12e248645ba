import { beforeEach } from 'vitest';
import { postgresAvailable } from './postgres.js';

// The API tests over PostgreSQL are skipped (with the message postgresAvailable
// prints) when no server is reachable, and fail under CI=true.
const available = await postgresAvailable();
beforeEach((context) => {
  if (!available) context.skip();
});
