import { openStore } from '../../src/store/open.js';
import { type PgSchema, pgSchema } from '../support/pg.js';
import { storeContract } from '../support/store-contract.js';

let schema: PgSchema | undefined;
storeContract(
  'postgres',
  'postgres',
  async () => {
    schema = await pgSchema('store contract: postgres');
    return schema ? openStore({ db: schema.url, dataDir: '.' }) : undefined;
  },
  async () => schema?.drop(),
);
