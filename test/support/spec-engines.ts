// Runs one specification over both store engines: a SQLite file in a temporary folder and a fresh PostgreSQL
// schema (skipped with a message outside CI when PostgreSQL is not reachable, failing under CI=true; see pg.ts).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, type TestContext, test } from 'node:test';
import { openStore } from '../../src/store/open.js';
import type { NewMessage, Store } from '../../src/store/port.js';
import { pgSchema } from './pg.js';

export type Engine = 'sqlite' | 'postgres';

export interface EngineContext {
  engine: Engine;
  /** The open store; undefined only when the engine is unavailable (the suite's tests then skip). */
  store(): Store | undefined;
  /** A folder of its own for files next to the store (removed afterwards). */
  dir: string;
  /**
   * A test that gets the open store. SQLite is always there, so a store that did not open fails the test (a
   * mutant that breaks opening cannot hide behind skips); an unreachable PostgreSQL skips it.
   */
  storeTest(title: string, fn: (store: Store) => Promise<void>): void;
}

/**
 * What a test does when its engine's store (or database) did not open: SQLite is always there, so the test fails
 * (a mutant that breaks opening cannot hide behind skips); PostgreSQL skips it (reachable only outside CI: under
 * CI=true pg.ts already fails when it cannot connect).
 */
export function engineUnavailable(t: TestContext, engine: Engine): void {
  if (engine === 'sqlite') assert.fail('the SQLite store did not open');
  t.skip('engine unavailable');
}

/** A logged regular message by alice at ts 1000 in `roomId`, with `over` on top. */
export function newMessage(roomId: string, text: string, over: Partial<NewMessage> = {}): NewMessage {
  return {
    roomId,
    author: 'sip:alice@contoso.com',
    ts: 1000,
    kind: 'regular',
    text,
    title: null,
    rich: null,
    file: null,
    logged: true,
    ...over,
  };
}

export function forEachEngine(title: string, body: (ctx: EngineContext) => void): void {
  for (const engine of ['sqlite', 'postgres'] as const) {
    describe(`${title} [${engine}]`, () => {
      const dir = mkdtempSync(join(tmpdir(), `pchat-spec-${engine}-`));
      let store: Store | undefined;
      let drop: (() => Promise<void>) | undefined;
      before(async () => {
        if (engine === 'sqlite') store = await openStore({ dataDir: dir });
        else {
          const schema = await pgSchema(title);
          if (schema) {
            store = await openStore({ db: schema.url, dataDir: dir });
            drop = () => schema.drop();
          }
        }
      });
      after(async () => {
        await store?.close();
        await drop?.();
        rmSync(dir, { recursive: true, force: true });
      });
      const storeTest = (t: string, fn: (s: Store) => Promise<void>) =>
        test(t, async (ctx) => {
          if (!store) return engineUnavailable(ctx, engine);
          await fn(store);
        });
      body({ engine, store: () => store, dir, storeTest });
    });
  }
}
