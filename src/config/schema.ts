/**
 * Every setting, with its default and what it means. A setting named `data_dir`
 * here is `data_dir:` in the YAML file and `HOOKLOG_DATA_DIR` in the
 * environment. The README's configuration table is generated from this list in
 * spirit and checked against it by a test.
 */
export interface Config {
  port: number;
  host: string;
  healthPort: number;
  shutdownDelaySeconds: number;
  dataDir: string;
  adminToken: string;
  metricsToken: string;
  maxBodyBytes: number;
  maxResponseBytes: number;
  requestTimeoutSeconds: number;
  keepAliveTimeoutSeconds: number;
  maxLongPolls: number;
  maxConnections: number;
  maxLongPollsPerToken: number;
  ingressMaxRequestsPerClient: number;
  allowReadableDataDir: boolean;
  retentionIntervalSeconds: number;
  attemptRetentionDays: number;
  logLevel: LogLevel;
  sqliteSync: SqliteSync;
  sqliteCacheMb: number;
  retrySchedule: number[];
  deliveryTimeoutSeconds: number;
  allowPrivateDestinations: boolean;
  transformationTimeoutMs: number;
  transformationMemoryMb: number;
  transformationMaxOutputBytes: number;
  transformationThreads: number;
  databaseUrl: string;
  databasePoolSize: number;
  databaseStatementTimeoutSeconds: number;
  databaseAcquireTimeoutSeconds: number;
  role: Role;
  leaseSeconds: number;
  /** Kaiman Webhooks Proxy channels declared in the YAML file (`channels:`); set in the store at every start. */
  channels: ChannelConfig[];
}

/** One entry of `channels:`, with Kaiman Webhooks Proxy's config.yml keys: name, secret-header, webhook-secret, token. */
export interface ChannelConfig {
  name: string;
  secretHeader?: string;
  secret?: string;
  token: string;
}

/** The YAML key of the channel list: a list, not one value, so it has no environment variable. */
export const CHANNELS_KEY = 'channels';

export const ROLES = ['all', 'api', 'worker'] as const;
/** api: serves HTTP only. worker: delivers and runs retention, with no HTTP listener. all: both. */
export type Role = (typeof ROLES)[number];

export const SQLITE_SYNC = ['full', 'normal'] as const;
/** full: a 2xx waits until the write is flushed to disk. normal: until the OS has it (survives a crash of hooklog, not of the machine). */
export type SqliteSync = (typeof SQLITE_SYNC)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

type SettingType =
  | 'port'
  | 'string'
  | 'positive_integer'
  | 'non_negative_integer'
  | 'seconds'
  | 'seconds_or_zero'
  | 'log_level'
  | 'sqlite_sync'
  | 'role'
  | 'seconds_list'
  | 'boolean';

export interface Setting {
  key: string;
  field: keyof Config;
  type: SettingType;
  default: Config[keyof Config];
  description: string;
  /**
   * Its value gives access, so whatever shows settings (`hooklog config`) masks it: `value`, all of it (a
   * bearer); `url_password`, a URL's password and password parameters, so that its host, user and database still show.
   */
  secret?: 'value' | 'url_password';
}

export const settings: readonly Setting[] = [
  { key: 'port', field: 'port', type: 'port', default: 8080, description: 'TCP port the HTTP server listens on' },
  { key: 'host', field: 'host', type: 'string', default: '', description: 'address to bind; empty binds every address' },
  {
    key: 'health_port',
    field: 'healthPort',
    type: 'port',
    default: 0,
    description:
      'a second TCP port, on host, that serves only /healthz, /readyz and /metrics: the only listener of a worker node; 0 turns it off (api and all nodes serve the health checks on port too, and /metrics there only with a metrics_token)',
  },
  {
    key: 'shutdown_delay_seconds',
    field: 'shutdownDelaySeconds',
    type: 'seconds_or_zero',
    // Long enough for a balancer probing every 1-2 s to see a few failed probes; short enough that the delay
    // and the requests in flight fit in docker's 10 s stop timeout (and easily in Kubernetes' 30 s).
    default: 5,
    description:
      'after SIGTERM, how long a node that serves the API keeps serving every request while /readyz answers 503, so that load balancers stop sending it traffic before it stops listening; 0 stops at once',
  },
  {
    key: 'data_dir',
    field: 'dataDir',
    type: 'string',
    default: './data',
    description: 'directory of the SQLite database (unused with database_url); created 700, its files 600, as they hold webhook secrets',
  },
  {
    key: 'allow_readable_data_dir',
    field: 'allowReadableDataDir',
    type: 'boolean',
    default: false,
    description: 'start even when data_dir can be read or entered by other users (by default that stops the server)',
  },
  {
    key: 'database_url',
    field: 'databaseUrl',
    type: 'string',
    default: '',
    secret: 'url_password',
    description:
      'postgres://user:password@host:5432/db selects the PostgreSQL backend, which several hooklog nodes can share; empty uses SQLite in data_dir. Add ?options=-c%20search_path%3Dname to use a schema other than public',
  },
  {
    key: 'database_pool_size',
    field: 'databasePoolSize',
    type: 'positive_integer',
    default: 10,
    description: "PostgreSQL connections per node, besides one that listens for other nodes' changes",
  },
  {
    key: 'database_statement_timeout_seconds',
    field: 'databaseStatementTimeoutSeconds',
    type: 'seconds',
    default: 60,
    description:
      'the longest one PostgreSQL statement may run (a publish behind a lock, a slow query); it is then cancelled and the request gets 503 with Retry-After. Migrations are not bounded',
  },
  {
    key: 'database_acquire_timeout_seconds',
    field: 'databaseAcquireTimeoutSeconds',
    type: 'seconds',
    default: 10,
    description: 'how long a request waits for a free PostgreSQL connection of the pool (or for a new one to open); then it gets 503 with Retry-After',
  },
  {
    key: 'role',
    field: 'role',
    type: 'role',
    default: 'all',
    description: `what this node does: ${ROLES.join(', ')}. api serves HTTP only; worker delivers egress webhooks and runs retention, with no HTTP listener. api and worker need database_url`,
  },
  {
    key: 'lease_seconds',
    field: 'leaseSeconds',
    type: 'seconds',
    default: 15,
    description:
      "how long a worker's claim on a webhook or job lasts unless renewed (it renews every third of it); a node that dies has its work taken over after this",
  },
  {
    key: 'admin_token',
    field: 'adminToken',
    type: 'string',
    default: '',
    secret: 'value',
    description: 'bootstrap bearer with full access, at least 24 characters; when empty, the first start creates an admin token and prints it once',
  },
  {
    key: 'metrics_token',
    field: 'metricsToken',
    type: 'string',
    default: '',
    description:
      'bearer that GET /metrics requires (Prometheus: authorization.credentials); when empty, /metrics is served only on health_port, since it names every ingress webhook',
    secret: 'value',
  },
  {
    key: 'max_body_bytes',
    field: 'maxBodyBytes',
    type: 'positive_integer',
    default: 1024 * 1024,
    description: 'largest request body accepted, in bytes; larger bodies get 413',
  },
  {
    key: 'max_response_bytes',
    field: 'maxResponseBytes',
    type: 'positive_integer',
    default: 4 * 1024 * 1024,
    description: 'largest consume response, in bytes; a page then holds fewer messages (always at least one) and next_offset says where to go on',
  },
  {
    key: 'request_timeout_seconds',
    field: 'requestTimeoutSeconds',
    type: 'seconds',
    default: 30,
    description:
      'how long a client may take to send a whole request (line, headers and body); slower ones get 408 and are disconnected. Long-polls wait after their request arrived and are not cut short',
  },
  {
    key: 'keep_alive_timeout_seconds',
    field: 'keepAliveTimeoutSeconds',
    type: 'seconds',
    default: 72,
    description:
      'how long an idle keep-alive connection stays open for its next request; keep it above the idle timeout of a load balancer in front (60 s on most), or it may reuse a connection just closed',
  },
  {
    key: 'max_connections',
    field: 'maxConnections',
    type: 'positive_integer',
    default: 20_000,
    description:
      'HTTP connections open at once on a listener; more are closed as soon as they connect, with one warning a minute. Keep it below the open-file limit (ulimit -n) and above max_long_polls',
  },
  {
    key: 'max_long_polls',
    field: 'maxLongPolls',
    type: 'positive_integer',
    default: 10_000,
    description:
      'consumes with poll that may wait for messages at once on this node; one more that would wait gets 429 with Retry-After. A consume that finds messages, or does not poll, is never refused',
  },
  {
    key: 'max_long_polls_per_token',
    field: 'maxLongPollsPerToken',
    type: 'positive_integer',
    default: 1_000,
    description:
      'of those, how many one token may hold at once on this node, so that one client (or a token narrowed to one log) cannot take every place; one more gets the same 429',
  },
  {
    key: 'ingress_max_requests_per_client',
    field: 'ingressMaxRequestsPerClient',
    type: 'non_negative_integer',
    default: 100,
    description:
      'requests one client address may have in flight at once on the public ingress URLs; more get 429. 0 turns the cap off: do that behind a proxy, where every request comes from its address, and cap there',
  },
  {
    key: 'retention_interval_seconds',
    field: 'retentionIntervalSeconds',
    type: 'seconds',
    default: 30,
    description: 'how often the retention job trims, compacts and expires messages',
  },
  {
    key: 'attempt_retention_days',
    field: 'attemptRetentionDays',
    type: 'positive_integer',
    default: 30,
    description: 'how long delivery attempts, settled message deliveries and ended tasks are kept before the retention job removes them',
  },
  { key: 'log_level', field: 'logLevel', type: 'log_level', default: 'info', description: `server log level: ${LOG_LEVELS.join(', ')}` },
  {
    key: 'sqlite_sync',
    field: 'sqliteSync',
    type: 'sqlite_sync',
    default: 'full',
    description:
      'full: a 2xx for a write waits until it is flushed to disk and survives power loss; normal: it waits until the OS has it, which survives a crash or kill of hooklog but not of the machine, and is faster',
  },
  {
    key: 'sqlite_cache_mb',
    field: 'sqliteCacheMb',
    type: 'positive_integer',
    default: 32,
    description:
      "SQLite's page cache in MiB: the indexes' newest pages and their upper levels stay in memory while logs grow; the OS caches the rest of the file",
  },
  {
    key: 'retry_schedule',
    field: 'retrySchedule',
    type: 'seconds_list',
    default: [0, 5, 300, 1800, 7200, 18000, 36000, 36000],
    description:
      'delays in seconds before each delivery attempt, comma-separated: the first is the first attempt, each further one a retry; each gets ±20 % jitter',
  },
  {
    key: 'delivery_timeout_seconds',
    field: 'deliveryTimeoutSeconds',
    type: 'seconds',
    default: 15,
    description: 'how long one delivery request may take, connection to last byte',
  },
  {
    key: 'allow_private_destinations',
    field: 'allowPrivateDestinations',
    type: 'boolean',
    default: false,
    description: 'allow deliveries to loopback, private and link-local addresses (refused by default)',
  },
  {
    key: 'transformation_timeout_ms',
    field: 'transformationTimeoutMs',
    type: 'positive_integer',
    default: 50,
    description: "how long one run of a destination's transformation may take, in milliseconds; past it the attempt fails",
  },
  {
    key: 'transformation_memory_mb',
    field: 'transformationMemoryMb',
    type: 'positive_integer',
    default: 16,
    description: 'how much memory one run of a transformation may allocate, in MiB',
  },
  {
    key: 'transformation_max_output_bytes',
    field: 'transformationMaxOutputBytes',
    type: 'positive_integer',
    default: 1_048_576,
    description: 'the largest payload a transformation may give back, in bytes',
  },
  {
    key: 'transformation_threads',
    field: 'transformationThreads',
    type: 'positive_integer',
    default: 2,
    description: 'threads that run transformations, apart from the one that serves requests; started on first use',
  },
];

export function envName(setting: Setting): string {
  return `HOOKLOG_${setting.key.toUpperCase()}`;
}
