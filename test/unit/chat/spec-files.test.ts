// File uploads and downloads, on SQLite and PostgreSQL. An upload is refused, naming the field, when the
// room's category forbids uploads, when the declared or streamed size is over MaxFileSizeKB (a file of exactly
// the limit is fine), or when the name is empty or only '.' / '..'; a refused upload posts nothing and keeps no
// file. Names are made safe (no path separators, control characters or lone surrogates, at most 255 characters),
// a content type that is not type/subtype is kept as application/octet-stream. A download of an unknown file,
// or of one in a room the user may not even see, is FILE_NOT_FOUND naming the field 'file', the same answer
// either way.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe } from 'node:test';
import type { ChatEvents } from '../../../src/chat/events.js';
import { Files } from '../../../src/chat/files.js';
import type { Session, UploadInput } from '../../../src/chat/types.js';
import { PchatError } from '../../../src/core/errors.js';
import { parseListEdit } from '../../../src/core/principals.js';
import { FileStore } from '../../../src/files/file-store.js';
import { type ChatFixture, chatFixture, ENGINES, fixtureTest, uri } from './fixture.js';

const LIMIT_KB = 1;
const LIMIT = LIMIT_KB * 1024;

/** Every file kept in the file store (temporary files of uploads in progress included). */
const storedFiles = (dir: string): string[] => {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).filter((p) => statSync(join(dir, p)).isFile());
};

const read = async (body: Readable): Promise<Buffer> => {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

for (const engine of ENGINES) {
  describe(`file uploads and downloads [${engine}]`, { timeout: 120_000 }, () => {
    let fx: ChatFixture | undefined;
    let files: Files;
    let filesDir: string;
    let noFiles: string;
    const uploaded: ChatEvents['uploaded'][] = [];
    const downloaded: ChatEvents['downloaded'][] = [];
    before(async () => {
      fx = await chatFixture(engine, (core) => {
        core.events.on('uploaded', (e) => void uploaded.push(e));
        core.events.on('downloaded', (e) => void downloaded.push(e));
        // a module that keeps one file from being downloaded, knowing its room
        core.events.on('download.before', (e) => {
          if (e.file.name === 'withheld.txt') throw new PchatError('FILE_NOT_FOUND', `withheld in ${e.room.name}`);
        });
      });
      if (!fx) return;
      filesDir = join(fx.dir, 'files');
      files = new Files(fx.core, new FileStore(filesDir));
      await fx.admin.newCategory({
        name: 'No files',
        fileUpload: false,
        allowedMembers: parseListEdit('domain:contoso.com', 'members'),
      });
      noFiles = (
        await fx.admin.newRoom({
          name: 'Paper only',
          category: 'No files',
          members: parseListEdit(uri('alice'), 'members'),
        })
      ).id;
      await fx.admin.setConfig({ maxFileSizeKB: LIMIT_KB });
      await fx.core.model.poll();
    });
    after(async () => fx?.close());
    const it = fixtureTest(engine, () => fx);

    const input = (fx: ChatFixture, over: Partial<UploadInput> & { bytes?: number }): UploadInput => {
      const { bytes = 10, ...rest } = over;
      return {
        roomId: fx.rooms.general,
        name: 'notes.txt',
        contentType: 'text/plain',
        body: Readable.from([Buffer.alloc(bytes, 'x')]),
        ...rest,
      };
    };

    it('a refused upload names its field, posts nothing and keeps no file', async (fx) => {
      const alice = fx.open('alice');
      const carol = fx.open('carol');
      const bob = fx.open('bob');
      const rows: [string, Session, Partial<UploadInput> & { bytes?: number }, string, string | undefined, RegExp][] = [
        [
          'the category forbids uploads',
          alice,
          { roomId: noFiles },
          'FILE_UPLOAD_DISABLED',
          undefined,
          /^The room's category does not allow file uploads\.$/,
        ],
        [
          'a declared size over the limit',
          alice,
          { size: LIMIT + 1, bytes: 1 },
          'FILE_TOO_LARGE',
          'file',
          /^file: larger than 1 KB$/,
        ],
        [
          'a streamed size over the limit',
          alice,
          { bytes: LIMIT + 1 },
          'FILE_TOO_LARGE',
          'file',
          /^file: larger than 1 KB$/,
        ],
        ['an empty name', alice, { name: '' }, 'INVALID_VALUE', 'name', /^name: a file needs a name$/],
        ['a name of blanks', alice, { name: '   ' }, 'INVALID_VALUE', 'name', /^name: a file needs a name$/],
        ['the name .', alice, { name: '.' }, 'INVALID_VALUE', 'name', /^name: a file needs a name$/],
        ['the name ..', alice, { name: '..' }, 'INVALID_VALUE', 'name', /^name: a file needs a name$/],
        ['the name .. among blanks', alice, { name: ' .. ' }, 'INVALID_VALUE', 'name', /^name: a file needs a name$/],
        [
          'no name',
          alice,
          { name: undefined as unknown as string },
          'INVALID_VALUE',
          'name',
          /^name: a file needs a name$/,
        ],
        [
          'a null name',
          alice,
          { name: null as unknown as string },
          'INVALID_VALUE',
          'name',
          /^name: a file needs a name$/,
        ],
        ['not a member', carol, {}, 'NOT_A_MEMBER', 'room', /members/],
        ['not a presenter of an auditorium', bob, { roomId: fx.rooms.audit }, 'NOT_A_PRESENTER', 'room', /presenters/],
      ];
      for (const [what, session, over, code, field, message] of rows) {
        const latest = await fx.store.messages.latestId();
        const events = uploaded.length;
        const i = input(fx, over);
        await assert.rejects(files.upload(session, i), (e: { code: string; field?: string; message: string }) => {
          assert.equal(e.code, code, `${what}: code`);
          assert.equal(e.field, field, `${what}: field`);
          assert.match(e.message, message, `${what}: message`);
          return true;
        });
        assert.equal(await fx.store.messages.latestId(), latest, `${what}: nothing posted`);
        assert.equal(uploaded.length, events, `${what}: no upload event`);
        assert.deepEqual(storedFiles(filesDir), [], `${what}: no file kept`);
      }
      fx.core.closeSession(alice);
      fx.core.closeSession(carol);
      fx.core.closeSession(bob);
    });

    it('a file of exactly the limit is accepted, declared or not', async (fx) => {
      const alice = fx.open('alice');
      for (const size of [LIMIT, undefined]) {
        const m = await files.upload(alice, input(fx, { size, bytes: LIMIT, name: `edge-${size}.bin` }));
        assert.equal(m.file?.size, LIMIT, `declared ${size}`);
        const dl = await files.download(uri('bob'), m.file?.id as string);
        assert.equal((await read(dl.body)).length, LIMIT);
      }
      fx.core.closeSession(alice);
    });

    it('file names are made safe and content types kept only when they are type/subtype', async (fx) => {
      const alice = fx.open('alice');
      const rows: [string, Partial<UploadInput>, string, string][] = [
        ['a plain name and type', { name: 'notes.txt', contentType: 'text/plain' }, 'notes.txt', 'text/plain'],
        ['a type with + and .', { name: 'a.svg', contentType: 'image/svg+xml' }, 'a.svg', 'image/svg+xml'],
        [
          'a vendor type',
          { name: 'b.xls', contentType: 'application/vnd.ms-excel' },
          'b.xls',
          'application/vnd.ms-excel',
        ],
        [
          'a type with parameters',
          { contentType: 'text/html; charset=utf-8' },
          'notes.txt',
          'application/octet-stream',
        ],
        ['a type without subtype', { contentType: 'text' }, 'notes.txt', 'application/octet-stream'],
        ['no type', { contentType: '' }, 'notes.txt', 'application/octet-stream'],
        [
          'a type with a header after it',
          { contentType: 'text/plain\r\nX-Evil: 1' },
          'notes.txt',
          'application/octet-stream',
        ],
        ['a type of three parts', { contentType: 'a/b/c' }, 'notes.txt', 'application/octet-stream'],
        ['path separators', { name: '../etc/passwd\\x' }, '.._etc_passwd_x', 'text/plain'],
        ['control characters', { name: 'a\u0000b\u001fc\nd' }, 'a_b_c_d', 'text/plain'],
        ['a lone surrogate', { name: 'x\uD800y' }, 'x_y', 'text/plain'],
        ['blanks around', { name: '  report.pdf  ' }, 'report.pdf', 'text/plain'],
        ['a long name', { name: 'n'.repeat(300) }, 'n'.repeat(255), 'text/plain'],
      ];
      for (const [what, over, name, contentType] of rows) {
        const m = await files.upload(alice, input(fx, over));
        assert.equal(m.kind, 'file', what);
        assert.equal(m.text, name, `${what}: the message names the file`);
        assert.deepEqual(
          { name: m.file?.name, contentType: m.file?.contentType, size: m.file?.size },
          { name, contentType, size: 10 },
          what,
        );
        const dl = await files.download(uri('bob'), m.file?.id as string);
        assert.deepEqual(
          { name: dl.name, contentType: dl.contentType, size: dl.size },
          { name, contentType, size: 10 },
          what,
        );
        assert.equal((await read(dl.body)).toString(), 'x'.repeat(10), what);
      }
      fx.core.closeSession(alice);
    });

    it('an unknown file and a file in a room the user may not see get the same FILE_NOT_FOUND', async (fx) => {
      const alice = fx.open('alice');
      const secret = await files.upload(alice, input(fx, { roomId: fx.rooms.secret, name: 'plan.txt' }));
      const general = await files.upload(alice, input(fx, { name: 'open.txt' }));
      const secretId = secret.file?.id as string;
      const rows: [string, string, string, string, string | undefined, RegExp][] = [
        ['an unknown id', uri('bob'), 'no-such-file', 'FILE_NOT_FOUND', 'file', /^file: no-such-file does not exist$/],
        [
          'a file in a secret room',
          uri('bob'),
          secretId,
          'FILE_NOT_FOUND',
          'file',
          new RegExp(`^file: ${secretId} does not exist$`),
        ],
        [
          'a closed room the user is not in',
          uri('carol'),
          general.file?.id as string,
          'NOT_A_MEMBER',
          'room',
          /members/,
        ],
      ];
      for (const [what, user, id, code, field, message] of rows) {
        const n = downloaded.length;
        await assert.rejects(files.download(user, id), (e: { code: string; field?: string; message: string }) => {
          assert.equal(e.code, code, `${what}: code`);
          assert.equal(e.field, field, `${what}: field`);
          assert.match(e.message, message, `${what}: message`);
          return true;
        });
        assert.equal(downloaded.length, n, `${what}: no download recorded`);
      }
      const withheld = await files.upload(alice, input(fx, { name: 'withheld.txt' }));
      const n = downloaded.length;
      await assert.rejects(files.download(uri('bob'), withheld.file?.id as string), {
        code: 'FILE_NOT_FOUND',
        message: 'withheld in General',
      });
      assert.equal(downloaded.length, n, 'a vetoed download is not recorded');
      await read((await files.download(uri('bob'), general.file?.id as string)).body);
      assert.equal(downloaded.at(-1)?.who.door, 'rest', 'a door not named is rest');
      const dl = await files.download(uri('alice'), secretId, 'ws');
      assert.equal((await read(dl.body)).length, 10, 'a member of the secret room gets it');
      assert.equal(downloaded.at(-1)?.who.door, 'ws');
      fx.core.closeSession(alice);
    });
  });
}
