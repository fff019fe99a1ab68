// Specification of message replacement and removal in the store, on SQLite and PostgreSQL: a replaced message
// is found by its new text and no longer by its old one (the full-text indexes follow the change), a removed one
// is found by neither, and a removed file message loses its file record, which is handed back for deletion.
import assert from 'node:assert/strict';
import type { NewMessage, Store } from '../../src/store/port.js';
import { forEachEngine, newMessage } from '../support/spec-engines.js';

const ALICE = 'sip:alice@contoso.com';

const msg = (text: string, over: Partial<NewMessage> = {}): NewMessage => newMessage('mod', text, over);

forEachEngine('moderation specification', ({ store, storeTest }) => {
  const s = () => store() as Store;
  const it = (title: string, fn: () => Promise<void>) => storeTest(title, () => fn());
  const found = async (text: string) =>
    (await s().messages.search({ roomIds: ['mod'], text, limit: 10 })).messages.map((m) => m.text);

  it('a replaced message is found by its new text only; a removed one by neither', async () => {
    const [a, b] = await s().messages.append([msg('original wording 持久聊天'), msg('doomed sentence 讨论')]);
    assert.deepEqual(await found('wording'), ['original wording 持久聊天']);
    await s().moderation.rewrite('mod', [a?.id as number], 'corrected phrasing', 'sip:admin@contoso.com');
    await s().moderation.rewrite('mod', [b?.id as number], null, 'sip:admin@contoso.com');
    for (const gone of ['wording', '持久聊天', '持久', 'doomed', '讨论']) assert.deepEqual(await found(gone), [], gone);
    assert.deepEqual(await found('phrasing'), ['corrected phrasing']);
  });

  it('removing file messages removes their file records and hands them back', async () => {
    const files = ['f-a', 'f-b'].map((id) => ({
      id,
      roomId: 'mod',
      uploader: ALICE,
      name: `${id}.txt`,
      size: 3,
      contentType: 'text/plain',
      ts: 1000,
      storageKey: `key-${id}`,
    }));
    for (const f of files) await s().files.put(f);
    const stored = await s().messages.append(
      files.map((f) =>
        msg(`file ${f.id}`, { file: { id: f.id, name: f.name, size: f.size, contentType: f.contentType } }),
      ),
    );
    const out = await s().moderation.rewrite(
      'mod',
      stored.map((m) => m.id),
      null,
      'sip:admin@contoso.com',
    );
    assert.deepEqual(out.files.map((f) => f.storageKey).sort(), ['key-f-a', 'key-f-b']);
    for (const f of files) assert.equal(await s().files.get(f.id), undefined, `${f.id} removed`);
  });
});
