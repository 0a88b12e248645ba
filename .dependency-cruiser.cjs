/**
 * hooklog's layer rules (DESIGN.md, "Layout"), checked by `npm test`:
 * `npm run layers`. test/checks.test.ts breaks each rule in a fixture and
 * expects this check to fail, so a rule that stopped matching is noticed.
 */
/** Every folder of src/ that is not one of the named layers holds services (auth, log, ingress, egress, delivery, config, and any new one). */
const NOT_SERVICES = ['^src/(domain|protocols|store|http|cli)/', '^src/[^/]+[.]ts$'];
/** A backend is any folder of src/store/; the files directly in it are the store's ports. */
const BACKENDS = '^src/store/[^/]+/';
const STORE_PORTS = '^src/store/[^/]+[.]ts$';

module.exports = {
  forbidden: [
    {
      name: 'domain-imports-nothing',
      comment: 'The domain is the core model: it imports nothing of ours.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/domain/' },
    },
    {
      name: 'protocols-only-domain',
      comment: 'A wire format is a leaf: it imports only the domain and its own files.',
      severity: 'error',
      from: { path: '^src/protocols/([^/]+)' },
      to: { path: '^src/', pathNot: ['^src/domain/', '^src/protocols/$1/'] },
    },
    {
      name: 'backend-only-ports-and-domain',
      comment: "A store backend implements the store's ports: it imports those, the domain and its own files.",
      severity: 'error',
      from: { path: '^src/store/([^/]+)/' },
      to: { path: '^src/', pathNot: ['^src/domain/', STORE_PORTS, '^src/store/$1/'] },
    },
    {
      name: 'store-ports-only-domain',
      comment: 'The store interfaces are what backends and services share: they import only the domain and each other.',
      severity: 'error',
      from: { path: STORE_PORTS },
      to: { path: '^src/', pathNot: ['^src/domain/', STORE_PORTS] },
    },
    {
      name: 'services-not-http-or-backend',
      comment: 'Services serve every dialect and run on every backend: they know neither.',
      severity: 'error',
      from: { path: '^src/', pathNot: NOT_SERVICES },
      to: { path: ['^src/http/', BACKENDS, '^src/cli/', '^src/server[.]ts$'] },
    },
    {
      name: 'dialect-not-other-dialect',
      comment: 'Dialects are adapters side by side: what two share belongs in src/http/.',
      severity: 'error',
      from: { path: '^src/http/dialects/([^/]+)/' },
      to: { path: '^src/http/dialects/', pathNot: '^src/http/dialects/$1/' },
    },
    {
      name: 'http-core-no-wire-format',
      comment: "The shared HTTP layer serves every dialect: a dialect's wire format reaches it as an option, never an import.",
      severity: 'error',
      from: { path: '^src/http/', pathNot: '^src/http/dialects/' },
      to: { path: '^src/protocols/' },
    },
    {
      name: 'dialect-not-other-wire-format',
      comment: "A dialect speaks its own wire format (src/protocols/<dialect>/) and shared standards, never another dialect's.",
      severity: 'error',
      from: { path: '^src/http/dialects/([^/]+)/' },
      to: { path: '^src/protocols/', pathNot: ['^src/protocols/$1/', '^src/protocols/standard-webhooks/'] },
    },
    {
      name: 'http-not-store',
      comment: 'The HTTP layer and its dialects reach data through services only.',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/store/' },
    },
    {
      name: 'only-root-names-backend',
      comment: 'The composition root (src/server.ts) alone chooses a backend.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/server[.]ts$', BACKENDS] },
      to: { path: BACKENDS },
    },
    {
      name: 'only-root-names-dialect',
      comment: 'The composition root (src/server.ts) alone chooses the dialects served.',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/server[.]ts$', '^src/http/dialects/'] },
      to: { path: '^src/http/dialects/' },
    },
    {
      name: 'no-circular',
      comment: 'A cycle makes two modules one: merge them or move what they share.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
