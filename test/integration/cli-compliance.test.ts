// `pchat compliance|message|hold|retention|room clear` as real processes against a SQLite data directory.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ComplianceStore } from '../../src/compliance/store.js';
import { openStore } from '../../src/store/open.js';
import { runPchat } from '../support/cli.js';
import { PASSWORD, seedStandard, startServer, tempDataDir, uri } from '../support/server.js';

/** `pchat ...args --data dir`, with `env` on top of the runner's clean environment. */
const pchat = (dir: string, args: string[], env: Record<string, string> = {}) =>
  runPchat([...args, '--data', dir], env);

const A = 'sip:alice@contoso.com';

describe('pchat compliance, message, hold, retention and room clear', { concurrency: 1, timeout: 120_000 }, () => {
  let dir: string;
  const run = (...args: string[]) => pchat(dir, args);
  const ok = async (...args: string[]) => {
    const r = await run(...args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  const json = async <T = Record<string, unknown>>(...args: string[]) =>
    JSON.parse((await ok(...args, '--json')).stdout) as T;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'pchat-cli-comp-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('configure compliance, remove a message, export, verify, detect tampering', async () => {
    await ok('user', 'add', A, '--admin', '--password', 'pw-123456');
    await ok('category', 'new', 'Eng', '--allowed-members', 'domain:contoso.com');
    await ok('room', 'new', 'General', '--category', 'Eng', '--members', A);
    const r0 = await run('compliance', 'status', '--json');
    assert.equal(JSON.parse(r0.stdout).configured, false);
    const refused = await run('compliance', 'config', 'get');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^pchat: error COMPLIANCE_NOT_CONFIGURED: /);
    const bad = await run('compliance', 'config', 'new', '--run-interval', '10s');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /INVALID_VALUE: runIntervalSeconds/);
    const cfg = await json('compliance', 'config', 'new', '--adapter-type', 'jsonl', '--run-interval', '1h');
    assert.equal(cfg.runIntervalSeconds, 3600);
    assert.equal((await run('compliance', 'config', 'new')).code, 1, 'a second new is refused');
    const set = await json('compliance', 'config', 'set', '--adapter-type', 'xml', '--add-user-details');
    assert.equal(set.adapterType, 'xml');
    assert.equal(set.addUserDetails, true);
    assert.equal(set.runIntervalSeconds, 3600, 'set keeps what it does not name');

    // messages posted (and recorded) by a server, written here straight to the stores
    const store = await openStore({ dataDir: dir });
    const roomId = (await store.rooms.getByName('General'))?.id as string;
    const posted = await store.messages.append(
      ['budget draft', 'lunch?'].map((text) => ({
        roomId,
        author: A,
        ts: Date.now(),
        kind: 'regular' as const,
        text,
        title: null,
        rich: null,
        file: null,
        logged: true,
      })),
    );
    await store.close();
    const cs = await ComplianceStore.open({ dataDir: dir });
    await cs.record(
      posted.map((m) => ({
        door: 'ws',
        type: 'CHAT' as const,
        roomId,
        sender: A,
        content: m.text,
        messageId: m.id,
        ts: m.ts,
      })),
    );
    await cs.close();

    const usage = await run('message', 'remove', '--room', 'General');
    assert.equal(usage.code, 2, 'neither --remove nor --replace');
    const removed = await json<{ count: number }>(
      'message',
      'remove',
      '--room',
      'General',
      '--filter',
      'BUDGET',
      '--remove',
    );
    assert.equal(removed.count, 1);
    const status = await json<{ unexported: number }>('compliance', 'status');
    assert.equal(status.unexported, 3, 'two posts and the removal');
    const ran = await json<{ events: number }>('compliance', 'run-now');
    assert.equal(ran.events, 3);
    const out = join(dir, 'compliance-out');
    const xml = readdirSync(out).filter((n) => n.endsWith('.xml'));
    assert.equal(xml.length, 1);
    const body = readFileSync(join(out, xml[0] as string), 'utf8');
    assert.match(body, /type="REMOVE" content="budget draft"/);
    const verified = await ok('compliance', 'verify', out);
    assert.match(verified.stdout, /^OK: 1 batch/);
    writeFileSync(join(out, xml[0] as string), body.replace('lunch?', 'lunch!'));
    const tampered = await run('compliance', 'verify', out);
    assert.equal(tampered.code, 1);
    assert.match(tampered.stderr, new RegExp(`VERIFY_FAILED: ${xml[0]}: content does not match`));
    assert.match(tampered.stdout, /FAILED/);
  });

  test('retention, legal hold and room clear', async () => {
    await ok('retention', 'set', '--days', '30');
    await ok('retention', 'set', '--category', 'Eng', '--days', '365');
    const periods = await json<{ scope: string; days: number }[]>('retention', 'get');
    assert.deepEqual(
      periods.map((p) => p.days).sort((a, b) => a - b),
      [30, 365],
    );
    assert.equal((await run('retention', 'set', '--days', '0')).code, 1);
    await ok('hold', 'add', '--room', 'General', '--reason', 'matter 17');
    const dup = await run('hold', 'add', '--room', 'General');
    assert.match(dup.stderr, /HOLD_EXISTS/);
    assert.equal((await run('hold', 'add', '--room', 'General', '--user', A)).code, 1, 'one target only');
    const holds = await json<{ kind: string; reason: string }[]>('hold', 'list');
    assert.deepEqual(
      holds.map((h) => `${h.kind}:${h.reason}`),
      ['room:matter 17'],
    );
    await ok('hold', 'remove', '--room', 'General');
    assert.deepEqual(await json('hold', 'list'), []);
    const cleared = await json<{ messages: number }>('room', 'clear', '--room', 'General', '--end-date', '2999-01-01');
    assert.equal(cleared.messages, 2, 'the removed and the kept message rows');
    assert.equal((await run('room', 'clear', '--room', 'General')).code, 2);
    await ok('retention', 'remove', '--category', 'Eng');
    assert.equal((await json<unknown[]>('retention', 'get')).length, 1);
  });
});

describe('pchat test message', { timeout: 120_000 }, () => {
  test('reports each step against a running server, and fails naming the step', async () => {
    const data = tempDataDir('pchat-testmsg-');
    await seedStandard(data.dir);
    const server = await startServer(data.dir, { env: { PCHAT_SIP_ENABLED: 'false' } });
    try {
      const args = ['test', 'message', '--url', server.url, '--sender', uri('alice'), '--receiver', uri('bob')];
      const env = { PCHAT_TEST_SENDER_PASSWORD: PASSWORD, PCHAT_TEST_RECEIVER_PASSWORD: PASSWORD };
      const good = await pchat(data.dir, [...args, '--room', 'closed-room', '--json'], env);
      assert.equal(good.code, 0, good.stderr);
      const steps = JSON.parse(good.stdout) as { step: string; ok: boolean; ms: number }[];
      assert.deepEqual(
        steps.map((s) => s.step),
        [
          'sign in sender',
          'sign in receiver',
          'find room',
          'connect sender',
          'connect receiver',
          'join sender',
          'join receiver',
          'post',
          'receive',
          'end to end',
        ],
      );
      assert.ok(steps.every((s) => s.ok && s.ms >= 0));
      const wrong = await pchat(data.dir, [...args, '--room', 'closed-room'], {
        ...env,
        PCHAT_TEST_RECEIVER_PASSWORD: 'wrong-password',
      });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /^pchat: error TEST_FAILED: sign in receiver: AUTH_FAILED/);
      const noRoom = await pchat(data.dir, [...args, '--room', 'no-such-room'], env);
      assert.equal(noRoom.code, 1);
      assert.match(noRoom.stderr, /TEST_FAILED: find room: ROOM_NOT_FOUND/);
    } finally {
      await server.stop();
      data.remove();
    }
  });
});
