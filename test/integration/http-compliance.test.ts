// The admin REST API for compliance, message administration, retention and legal hold, against a real server
// process: administrators only, bad input refused with a stable code and nothing changed, /metrics shows the
// worker.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  eventually,
  http,
  type ServerProcess,
  seedStandard,
  signIn,
  startServer,
  tempDataDir,
} from '../support/server.js';

describe('admin API: compliance', { concurrency: 1, timeout: 120_000 }, () => {
  const data = tempDataDir('pchat-http-comp-');
  let server: ServerProcess;
  let admin: string;
  let bob: string;
  let room: string;
  before(async () => {
    room = (await seedStandard(data.dir)).closed;
    server = await startServer(data.dir, { env: { PCHAT_COMPLIANCE_CHECK_MS: '200' } });
    admin = await signIn(server.url, 'alice');
    bob = await signIn(server.url, 'bob');
  });
  after(async () => {
    await server?.stop();
    data.remove();
  });
  const call = (token: string, method: string, path: string, body?: unknown) =>
    http(server.url, method, path, { token, ...(body !== undefined ? { body } : {}) });

  test('configuration: only administrators; validated; new, set, get, remove', async () => {
    const refused = await call(bob, 'POST', '/api/admin/compliance/config', { adapterType: 'xml' });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'NOT_ADMIN');
    assert.equal(
      (await call(admin, 'GET', '/api/admin/compliance/config')).body.error.code,
      'COMPLIANCE_NOT_CONFIGURED',
    );
    const bad = await call(admin, 'POST', '/api/admin/compliance/config', { runInterval: '10s' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, 'runIntervalSeconds');
    const unknown = await call(admin, 'POST', '/api/admin/compliance/config', { adapter: 'xml' });
    assert.equal(unknown.status, 400);
    assert.equal((await call(admin, 'GET', '/api/admin/compliance/status')).body.status.configured, false);
    const made = await call(admin, 'POST', '/api/admin/compliance/config', { adapterType: 'jsonl', runInterval: '1h' });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal(made.body.config.runIntervalSeconds, 3600);
    assert.equal(
      (await call(admin, 'POST', '/api/admin/compliance/config', {})).body.error.code,
      'COMPLIANCE_CONFIG_EXISTS',
    );
    const set = await call(admin, 'PATCH', '/api/admin/compliance/config', { addUserDetails: true });
    assert.equal(set.body.config.addUserDetails, true);
    assert.equal(set.body.config.adapterType, 'jsonl');
    // a new configuration is due at once: the server's worker runs within its check interval (200 ms here) and
    // then not again for the run interval (1 h), so the next test's forced run is the only one that exports
    await eventually(
      async () => (await call(admin, 'GET', '/api/admin/compliance/status')).body.status.lastRunAt !== null,
      15_000,
      "the worker's first run",
    );
  });

  test('a post is recorded, removed through the API, exported by run, verified; metrics show the worker', async () => {
    const posted = await call(admin, 'POST', `/api/rooms/${room}/messages`, { text: 'confidential figures' });
    assert.equal(posted.status, 201, JSON.stringify(posted.body));
    const both = await call(admin, 'POST', '/api/admin/messages/remove', { room, remove: true, replace: 'x' });
    assert.equal(both.status, 400);
    assert.equal(
      (await call(bob, 'POST', '/api/admin/messages/remove', { room, remove: true })).body.error.code,
      'NOT_ADMIN',
    );
    const gone = await call(admin, 'POST', '/api/admin/messages/remove', { room, filter: 'figures', replace: '' });
    assert.equal(gone.status, 200, JSON.stringify(gone.body));
    assert.deepEqual(gone.body.removed.ids, [posted.body.message.id]);
    const history = await call(admin, 'GET', `/api/rooms/${room}/messages`);
    assert.deepEqual(
      history.body.messages.map((m: { text: string }) => m.text),
      ['This message was replaced by the Persistent Chat administrator.'],
    );
    const status = (await call(admin, 'GET', '/api/admin/compliance/status')).body.status;
    assert.ok(status.unexported >= 2, JSON.stringify(status));
    const run = await call(admin, 'POST', '/api/admin/compliance/run');
    assert.equal(run.body.run.error, undefined);
    assert.ok(run.body.run.events >= 2);
    const verify = await call(admin, 'POST', '/api/admin/compliance/verify', {});
    assert.equal(verify.body.verify.ok, true, JSON.stringify(verify.body));
    const metrics = await fetch(`${server.url}/metrics`).then((r) => r.text());
    assert.match(metrics, /pchat_compliance_backlog 0/);
    assert.match(metrics, /pchat_compliance_failures_total 0/);
    assert.match(metrics, /pchat_compliance_runs_total [1-9]/);
  });

  test('room clear, retention and legal holds', async () => {
    assert.equal(
      (await call(admin, 'POST', `/api/admin/rooms/${room}/clear`, { endDate: 'soon' })).body.error.code,
      'INVALID_VALUE',
    );
    assert.equal(
      (await call(admin, 'POST', '/api/admin/rooms/nope/clear', { endDate: '2999-01-01' })).body.error.code,
      'ROOM_NOT_FOUND',
    );
    const cleared = await call(admin, 'POST', `/api/admin/rooms/${room}/clear`, { endDate: '2999-01-01' });
    assert.equal(cleared.body.cleared.messages, 1);
    assert.equal((await call(admin, 'PUT', '/api/admin/retention', { days: 0 })).status, 400);
    assert.equal((await call(admin, 'PUT', '/api/admin/retention', { days: 30, category: 'Engineering' })).status, 204);
    assert.deepEqual(
      (await call(admin, 'GET', '/api/admin/retention')).body.retention.map((r: { category: string; days: number }) => [
        r.category,
        r.days,
      ]),
      [['Engineering', 30]],
    );
    assert.equal((await call(admin, 'DELETE', '/api/admin/retention?category=Engineering')).status, 204);
    assert.deepEqual((await call(admin, 'GET', '/api/admin/retention')).body.retention, []);
    const hold = await call(admin, 'POST', '/api/admin/holds', { room, reason: 'matter 9' });
    assert.equal(hold.status, 201);
    assert.equal((await call(admin, 'POST', '/api/admin/holds', { room })).body.error.code, 'HOLD_EXISTS');
    assert.equal((await call(bob, 'GET', '/api/admin/holds')).body.error.code, 'NOT_ADMIN');
    assert.equal((await call(admin, 'GET', '/api/admin/holds')).body.holds.length, 1);
    assert.equal((await call(admin, 'DELETE', `/api/admin/holds?room=${room}`)).status, 204);
    assert.equal((await call(admin, 'DELETE', `/api/admin/holds?room=${room}`)).body.error.code, 'HOLD_NOT_FOUND');
    assert.equal((await call(admin, 'POST', '/api/admin/retention/run')).body.run.purged, 0);
    assert.equal((await call(admin, 'DELETE', '/api/admin/compliance/config')).status, 204);
  });
});
