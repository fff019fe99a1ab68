import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/open.js';
import { storeContract } from '../support/store-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'pchat-store-'));
storeContract(
  'sqlite',
  'sqlite',
  () => openStore({ dataDir: dir }),
  async () => rmSync(dir, { recursive: true, force: true }),
);

// the same contract with the WAL synced on the thread pool (config sqliteSync: 'thread-pool')
const poolDir = mkdtempSync(join(tmpdir(), 'pchat-store-tp-'));
storeContract(
  'sqlite, thread-pool sync',
  'sqlite',
  () => openStore({ dataDir: poolDir, sqliteSync: 'thread-pool' }),
  async () => rmSync(poolDir, { recursive: true, force: true }),
);
