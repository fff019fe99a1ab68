import type { NounDef } from '../command.js';

export const migrateNoun: NounDef = { name: 'migrate', summary: 'migrate from a legacy system', verbs: {} };
