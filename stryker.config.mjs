// StrykerJS mutation testing (npm run test:mutation). One scope per run, chosen by PCHAT_MUTATION_SCOPE (see
// scripts/mutation.mjs), each with its own incremental file under reports/mutation/, so a rerun after a small
// change only tests the mutants it touched. One test process unless PCHAT_MUTATION_CONCURRENCY says more (the machine is shared).
const CHAT_TESTS = ['test/unit/chat/*.test.ts', 'test/unit/chat-service.test.ts', 'test/unit/spec-chat-access.test.ts'];

const SCOPES = {
  // Bounded to the rule tables and the files that use the rules directly: under load each extra file costs every
  // surviving mutant a full run of it (admin-service.test.ts alone takes close to a minute on 2 busy cores).
  core: {
    mutate: ['src/core/**/*.ts'],
    tests: [
      'test/unit/access.test.ts',
      'test/unit/rules.test.ts',
      'test/unit/errors.test.ts',
      'test/unit/directory.test.ts',
      'test/unit/spec-principals.test.ts',
      'test/unit/chat-service.test.ts',
      // names (NFC, look-alike keys, mixed scripts) and the alert matcher
      'test/unit/names.test.ts',
      'test/unit/keyword-matcher.test.ts',
      'test/unit/spec-core-*.test.ts',
    ],
  },
  // The directory is read by nearly every file; its own tests and the rule tables that build on it are enough to
  // judge it, and keep a run bounded.
  directory: {
    mutate: ['src/directory/**/*.ts'],
    tests: [
      'test/unit/directory.test.ts',
      'test/unit/rules.test.ts',
      'test/unit/access.test.ts',
      'test/unit/spec-principals.test.ts',
      // passwords.ts and sign-in-throttle.ts: their fast specifications (the integration sign-in-throttle test is
      // too slow for mutation: scrypt over both engines)
      'test/unit/spec-passwords.test.ts',
      'test/unit/spec-sign-in-throttle.test.ts',
      'test/unit/spec-directory-snapshot.test.ts',
    ],
  },
  xccos: {
    mutate: ['src/transports/xccos/**/*.ts'],
    // The fuzz file and the SIP integration files are left out to keep a run bounded on 2 shared cores; the
    // in-process session specification (spec-xccos-session) covers the dialog logic they reach.
    tests: [
      'test/unit/xccos-commands.test.ts',
      'test/unit/xccos-envelope.test.ts',
      'test/unit/xccos-xml.test.ts',
      'test/unit/spec-xccos*.test.ts',
    ],
  },
  digest: {
    mutate: ['src/transports/sip/digest.ts'],
    tests: ['test/unit/sip-digest.test.ts', 'test/unit/spec-digest*.test.ts'],
  },
  store: {
    mutate: ['src/store/**/*.ts'],
    tests: [
      'test/unit/store-*.test.ts',
      'test/unit/bigrams.test.ts',
      'test/unit/spec-store*.test.ts',
      'test/integration/store-postgres.test.ts',
      // message administration and retention (moderation.ts), archive import (sql-store.ts), migrations
      'test/unit/compliance-sqlite.test.ts',
      'test/integration/compliance-postgres.test.ts',
      // the archive's export and import over both engines (store.archive: pages, id reservation, bulk puts)
      'test/integration/migration-archive.test.ts',
      'test/unit/migrations.test.ts',
      // the thread-pool sync (WalSync: fdatasync on the pool, checkpoints, close)
      'test/unit/sqlite-durability.test.ts',
    ],
  },
  chat: {
    mutate: ['src/chat/**/*.ts'],
    tests: CHAT_TESTS,
  },
  // the chat folder in two halves that can run side by side (npm run test:mutation -- chat-core chat-modules);
  // `--report chat` adds them up when there is no whole-folder run
  'chat-core': {
    mutate: ['src/chat/core.ts', 'src/chat/events.ts'],
    tests: CHAT_TESTS,
  },
  'chat-modules': {
    mutate: ['src/chat/**/*.ts', '!src/chat/core.ts', '!src/chat/events.ts'],
    tests: CHAT_TESTS,
  },
  'http-auth': {
    mutate: ['src/transports/http/auth.ts'],
    tests: ['test/integration/spec-http-auth.test.ts'],
  },
};

const scope = process.env.PCHAT_MUTATION_SCOPE ?? 'core';
const s = SCOPES[scope];
if (!s) throw new Error(`unknown PCHAT_MUTATION_SCOPE ${scope}; one of ${Object.keys(SCOPES).join(', ')}`);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  tap: {
    testFiles: s.tests,
    nodeArgs: ['--test-reporter=tap', '-r', '{{hookFile}}', '--import', 'tsx', '{{testFile}}'],
    forceBail: true,
  },
  coverageAnalysis: 'perTest',
  mutate: s.mutate,
  ignorePatterns: ['dist', 'data', 'bench', 'reports', '.tmp', 'web'],
  // one test process by default (the machine is shared); PCHAT_MUTATION_CONCURRENCY=2 on a quiet machine
  concurrency: Number(process.env.PCHAT_MUTATION_CONCURRENCY ?? 1),
  timeoutMS: 20_000,
  timeoutFactor: 2,
  incremental: true,
  incrementalFile: `reports/mutation/${scope}.incremental.json`,
  // event-recorder: every tested mutant is written as it is decided, so `node scripts/mutation.mjs --live <scope>`
  // can list the survivors of a run that is still going (the incremental file is written only at the end)
  reporters: ['clear-text', 'progress', 'event-recorder'],
  eventReporter: { baseDir: `.tmp/mutation-events/${scope}` },
  clearTextReporter: { allowColor: false, logTests: false, reportScoreTable: true },
  // one sandbox folder per scope, so two scopes may run side by side
  tempDirName: `.tmp/stryker-${scope}`,
  cleanTempDir: true,
  thresholds: { high: 90, low: 85, break: null },
};
