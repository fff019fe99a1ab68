import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/open.js';
import { storeContract } from '../support/store-contract.js';

const dir = mkdtempSync(join(tmpdir(), 'pchat-store-'));
storeContract(
  'sqlite',
  () => openStore({ dataDir: dir }),
  async () => rmSync(dir, { recursive: true, force: true }),
);
