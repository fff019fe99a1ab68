// A store holding every kind of item the archive carries, for the export/import tests: users with passwords
// and OUs, nested groups, policies, add-ins, an endpoint, configuration, categories (one with chat history
// off), open/closed/secret rooms and an auditorium, messages of every kind with CJK and emoji text, rich text,
// a story, an unlogged message, files (one empty, one larger than a blob chunk), follows, feeds and prefs.
import { Readable } from 'node:stream';
import { AdminService } from '../../src/admin/admin-service.js';
import type { FileStore } from '../../src/files/file-store.js';
import type { NewMessage, Store, StoredFile } from '../../src/store/port.js';
import { newMessage } from './spec-engines.js';

const T0 = Date.UTC(2025, 0, 15, 9, 0, 0);

export async function fillStore(store: Store, files: FileStore): Promise<void> {
  const admin = new AdminService(store, { realm: 'contoso.com', domain: 'contoso.com', pool: 'contoso.com' });
  await admin.addUser('sip:alice@contoso.com', {
    displayName: 'Alice Smith',
    email: 'alice@contoso.com',
    ou: 'Contoso/Engineering',
    isAdmin: true,
    password: 'correct horse',
  });
  await admin.addUser('sip:bob@contoso.com', { displayName: 'Bob 山田', ou: 'Contoso/Engineering/Tools' });
  await admin.addUser('sip:carol@contoso.com', { displayName: 'Carol', ou: 'Contoso/Sales', site: 'Paris' });
  await admin.addUser('sip:dave@fabrikam.com', { displayName: 'Dave (federated)', disabled: true });
  await admin.addGroup('tools', { description: 'tool makers', members: { replace: ['sip:bob@contoso.com'] } });
  await admin.addGroup('engineering', {
    description: 'all of engineering',
    members: { replace: ['sip:alice@contoso.com', 'group:tools'] },
  });
  await admin.newPolicy('tag:traders', { enablePersistentChat: true, description: 'trading floor' });
  await admin.grantPolicy('sip:carol@contoso.com', 'tag:traders');
  await admin.newAddin({ name: 'Wiki', url: 'https://wiki.contoso.com/addin' });
  await admin.newEndpoint({ sipAddress: 'sip:ocschat@contoso.com', displayName: 'Group Chat' });
  await admin.setConfig({ defaultChatHistory: 50, maxFileSizeKB: 4000 });
  await admin.newCategory({
    name: 'Engineering',
    description: '技術部',
    allowedMembers: { replace: ['ou:Contoso/Engineering', 'sip:carol@contoso.com', 'sip:dave@fabrikam.com'] },
    deniedMembers: { replace: ['sip:dave@fabrikam.com'] },
    creators: { replace: ['sip:alice@contoso.com'] },
  });
  await admin.newCategory({
    name: 'Off the record',
    chatHistory: false,
    invitations: false,
    allowedMembers: { replace: ['domain:contoso.com'] },
  });
  const general = await admin.newRoom({
    name: 'General',
    category: 'Engineering',
    privacy: 'open',
    description: 'everything',
    addin: 'Wiki',
  });
  const secret = await admin.newRoom({
    name: '秘密のプロジェクト',
    category: 'Engineering',
    privacy: 'secret',
    members: { replace: ['group:engineering'] },
    managers: { replace: ['sip:alice@contoso.com'] },
  });
  const hall = await admin.newRoom({
    name: 'Town Hall',
    category: 'Engineering',
    type: 'auditorium',
    privacy: 'closed',
    members: { replace: ['ou:Contoso/Engineering', 'sip:carol@contoso.com'] },
    presenters: { replace: ['sip:alice@contoso.com'] },
  });
  const quiet = await admin.newRoom({
    name: 'Water cooler',
    category: 'Off the record',
    privacy: 'open',
    invitations: 'false',
    disabled: true,
  });

  const big = Buffer.alloc(48 * 1024 * 2 + 1234);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + 3) & 0xff;
  const fileMeta: StoredFile[] = [];
  for (const [name, body, type] of [
    ['design.bin', big, 'application/octet-stream'],
    ['empty.txt', Buffer.alloc(0), 'text/plain'],
    ['メモ.txt', Buffer.from('日本語のメモ\n', 'utf8'), 'text/plain; charset=utf-8'],
  ] as const) {
    const saved = await files.save(Readable.from([body]), 10_000_000);
    const f: StoredFile = {
      id: `file-${fileMeta.length + 1}`,
      name,
      size: saved.size,
      contentType: type,
      roomId: secret.id,
      uploader: 'sip:alice@contoso.com',
      ts: T0 + fileMeta.length,
      storageKey: saved.key,
    };
    await store.files.put(f);
    fileMeta.push(f);
  }
  const m = (roomId: string, i: number, text: string, over: Partial<NewMessage> = {}) =>
    newMessage(roomId, text, { ts: T0 + i * 60_000, ...over });
  await store.messages.append([
    m(general.id, 1, 'Hello world'),
    m(general.id, 2, '你好，世界 🌏', { author: 'sip:bob@contoso.com' }),
    m(general.id, 2, 'Same millisecond, next id', { author: 'sip:carol@contoso.com' }),
    m(secret.id, 3, '안녕하세요 — "quoted" \\ backslash \n newline', { rich: '<b>안녕하세요</b>' }),
    m(secret.id, 4, 'Release plan body', { kind: 'story', title: 'リリース計画' }),
    m(secret.id, 5, 'design.bin', {
      kind: 'file',
      file: { id: 'file-1', name: 'design.bin', size: big.length, contentType: 'application/octet-stream' },
    }),
    m(hall.id, 6, 'All hands at 10', { kind: 'alert' }),
    m(quiet.id, 7, '', { logged: false }),
  ]);
  await store.follows.follow('sip:bob@contoso.com', general.id);
  await store.follows.markRead('sip:bob@contoso.com', general.id, 2);
  await store.feeds.put({
    id: 'feed-1',
    user: 'sip:bob@contoso.com',
    name: 'release news',
    keywords: ['release', 'リリース'],
    authors: ['sip:alice@contoso.com'],
    roomIds: [secret.id],
    alert: true,
  });
  await store.prefs.set('sip:bob@contoso.com', 'layout', '{"compact":true}');
}
