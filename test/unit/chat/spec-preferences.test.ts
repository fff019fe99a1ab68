// Preference documents (XCCOS getpref/setpref, web client settings), on SQLite and PostgreSQL. A document is
// text stored exactly as given under a label of 1–128 ASCII letters, digits and . : _ - (case counts), per user.
// A write is refused, and nothing changes, when: the user is unknown or has chat disabled (first); the content is
// not text (INVALID_VALUE, field 'content'); it is longer than 64 KiB = 65,536 characters (FRAME_TOO_LARGE);
// it holds U+0000 or a lone surrogate (INVALID_VALUE, 'content'); the label breaks its rule (INVALID_VALUE,
// 'label'); it would be the user's 101st document (INVALID_VALUE, 'label'); or it would bring the user's
// documents past 1 MiB = 1,048,576 characters in all (FRAME_TOO_LARGE), a rewrite counting the old document out.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MAX_PREF_CHARS, Preferences } from '../../../src/chat/preferences.js';
import { PchatError } from '../../../src/core/errors.js';
import { USER_STORAGE_LIMITS as L } from '../../../src/core/model.js';
import { type ChatFixture, chatFixture, ENGINES, fixtureTest, PW, uri } from './fixture.js';

const LABEL_MESSAGE = 'label: must be 1–128 letters, digits, . : _ -';
const SIZE_MESSAGE = 'content: at most 64 KiB';
const TOTAL_MESSAGE = `content: at most ${L.prefTotalChars} characters of preferences per user`;
const COUNT_MESSAGE = `label: at most ${L.prefsPerUser} preference documents per user`;

/** [code, field, message] of a refusal */
type Refused = [code: string, field: string | undefined, message: string];

/** How `p` was refused; fails when it was not. */
const refusal = async (p: Promise<unknown>): Promise<Refused> => {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof PchatError, `not a PchatError: ${String(e)}`);
    return [e.code, e.field, e.message];
  }
  assert.fail('accepted');
};

/** A user of their own for a case that fills a user's storage, known to the core when it returns. */
const freshUser = async (fx: ChatFixture, name: string): Promise<string> => {
  await fx.admin.addUser(uri(name), { password: PW, displayName: name });
  await fx.core.model.poll();
  return uri(name);
};

test('the limits are 100 documents of 64 KiB (65,536 characters) each and 1 MiB in all per user', () => {
  assert.equal(MAX_PREF_CHARS, 65_536);
  assert.equal(L.prefChars, 65_536);
  assert.equal(L.prefsPerUser, 100);
  assert.equal(L.prefTotalChars, 1_048_576);
});

for (const engine of ENGINES) {
  describe(`preference documents [${engine}]`, { timeout: 120_000 }, () => {
    let fx: ChatFixture | undefined;
    let prefs: Preferences;
    before(async () => {
      fx = await chatFixture(engine, (core) => {
        prefs = new Preferences(core);
      });
    });
    after(async () => fx?.close());
    const it = fixtureTest(engine, () => fx);

    it('a document is kept exactly as given, by user and label (case counts); one never written reads as undefined', async () => {
      const alice = uri('alice');
      const bob = uri('bob');
      const docs: [label: string, content: string][] = [
        ['empty', ''],
        ['blanks', '  padded \t '],
        ['lines', 'one\r\ntwo\nthree\n'],
        ['json', '{"theme":"dark","size":12}'],
        ['scripts', 'Grüße · 日本語 · עברית · 🚀👩‍💻'],
        ['xml', '<pref a="1">&amp;</pref>'],
        ['Case', 'upper'],
        ['case', 'lower'],
        ['full', 'f'.repeat(L.prefChars)],
      ];
      for (const [label, content] of docs) await prefs.setPref(alice, label, content);
      for (const [label, content] of docs) assert.equal(await prefs.getPref(alice, label), content, label);
      assert.equal(await prefs.getPref(alice, 'CASE'), undefined, 'labels differing in case are different documents');
      assert.equal(await prefs.getPref(alice, 'never'), undefined);
      assert.equal(await prefs.getPref(bob, 'json'), undefined, "alice's documents are not bob's");
      await prefs.setPref(bob, 'json', 'bob');
      assert.equal(await prefs.getPref(alice, 'json'), '{"theme":"dark","size":12}', "bob's write is his own");
      await prefs.setPref(alice, 'json', '');
      assert.equal(await prefs.getPref(alice, 'json'), '', 'a rewrite replaces the document');
    });

    it("a label is 1 to 128 of ASCII letters, digits and . : _ -; any other is refused naming the field 'label', on write and read", async (fx) => {
      const bob = uri('bob');
      const good = ['a', 'Z', '7', '_', '.', ':', '-', 'ui.theme:dark-mode_2', 'l'.repeat(127), 'L'.repeat(128)];
      for (const label of good) {
        await prefs.setPref(bob, label, `v ${label}`);
        assert.equal(await prefs.getPref(bob, label), `v ${label}`, `${label.slice(0, 10)} (${label.length})`);
      }
      const usage = await fx.store.prefs.usage(bob);
      const bad: [what: string, label: unknown][] = [
        ['empty', ''],
        ['129 characters', 'l'.repeat(129)],
        ['128 characters and a blank', `${'l'.repeat(128)} `],
        ['a blank', 'a b'],
        ['a slash', 'a/b'],
        ['a backslash', 'a\\b'],
        ['a plus', 'a+b'],
        ['an at sign', 'a@b'],
        ['a comma', 'a,b'],
        ['a star', 'ui.*'],
        ['a quote', "it's"],
        ['a trailing newline', 'ab\n'],
        ['a leading newline', '\nab'],
        ['a tab', 'a\tb'],
        ['U+0000', 'a\u0000'],
        ['a letter outside ASCII', 'größe'],
        ['CJK', '設定'],
        ['an emoji', '🚀'],
        ['a number', 7],
        ['null', null],
        ['undefined', undefined],
        ['a list of a good label', ['a']],
        ['an object', { toString: () => 'a' }],
      ];
      const want: Refused = ['INVALID_VALUE', 'label', LABEL_MESSAGE];
      for (const [what, label] of bad) {
        assert.deepEqual(await refusal(prefs.setPref(bob, label as string, 'v')), want, `write, ${what}`);
        assert.deepEqual(await refusal(prefs.getPref(bob, label as string)), want, `read, ${what}`);
      }
      assert.deepEqual(await fx.store.prefs.usage(bob), usage, 'nothing was stored');
    });

    it("content that is not text is refused with INVALID_VALUE naming the field 'content', before the label is read", async (fx) => {
      const carol = uri('carol');
      await prefs.setPref(carol, 'kept', 'as it was');
      const bad: [what: string, content: unknown][] = [
        ['null', null],
        ['true', true],
        ['a number', 0],
        ['a list', ['text']],
        ['a String object', new String('text')],
        ['a Buffer', Buffer.from('text')],
        ['a huge length', { length: 10 * L.prefChars }],
      ];
      for (const [what, content] of bad) {
        for (const label of ['kept', 'new', 'not a label']) {
          assert.deepEqual(
            await refusal(prefs.setPref(carol, label, content as string)),
            ['INVALID_VALUE', 'content', 'content: must be text'],
            `${what} under ${label}`,
          );
        }
      }
      assert.equal(await prefs.getPref(carol, 'kept'), 'as it was');
      assert.deepEqual(await fx.store.prefs.usage(carol), { count: 1, chars: 9 });
    });

    it('content of 65,536 characters is stored, one more is refused with FRAME_TOO_LARGE "content: at most 64 KiB"', async (fx) => {
      const dave = uri('dave');
      await prefs.setPref(dave, 'kept', 'small');
      // [what, label, content, the refusal or undefined when stored]
      const rows: [what: string, label: string, content: string, refused: Refused | undefined][] = [
        ['65,537 on a new label', 'new', 'x'.repeat(L.prefChars + 1), ['FRAME_TOO_LARGE', undefined, SIZE_MESSAGE]],
        ['65,537 on a kept label', 'kept', 'x'.repeat(L.prefChars + 1), ['FRAME_TOO_LARGE', undefined, SIZE_MESSAGE]],
        ['far over', 'new', 'x'.repeat(4 * L.prefChars), ['FRAME_TOO_LARGE', undefined, SIZE_MESSAGE]],
        // the size is read before the text and the label
        ['over, with U+0000', 'new', `\u0000${'x'.repeat(L.prefChars)}`, ['FRAME_TOO_LARGE', undefined, SIZE_MESSAGE]],
        [
          'over, under a bad label',
          'bad label',
          'x'.repeat(L.prefChars + 1),
          ['FRAME_TOO_LARGE', undefined, SIZE_MESSAGE],
        ],
        // then the text, then the label
        [
          'U+0000 under a bad label',
          'bad label',
          'a\u0000',
          ['INVALID_VALUE', 'content', 'content: must not contain U+0000 or an unpaired surrogate'],
        ],
        [
          'a lone surrogate',
          'new',
          'a\uD800b',
          ['INVALID_VALUE', 'content', 'content: must not contain U+0000 or an unpaired surrogate'],
        ],
        ['good text under a bad label', 'bad label', 'fine', ['INVALID_VALUE', 'label', LABEL_MESSAGE]],
        ['65,536 on a new label', 'new', 'n'.repeat(L.prefChars), undefined],
        ['65,536 on a kept label', 'kept', 'k'.repeat(L.prefChars), undefined],
      ];
      for (const [what, label, content, refused] of rows) {
        const before = await fx.store.prefs.usage(dave);
        const was = await prefs.getPref(dave, 'kept');
        if (refused) {
          const got = await refusal(prefs.setPref(dave, label, content));
          assert.deepEqual(got, refused, what);
          assert.deepEqual(await fx.store.prefs.usage(dave), before, `${what}: nothing stored`);
          assert.equal(await prefs.getPref(dave, 'kept'), was, `${what}: the kept document stays`);
        } else {
          await prefs.setPref(dave, label, content);
          assert.equal(await prefs.getPref(dave, label), content, what);
        }
      }
      const err = await prefs.setPref(dave, 'new', 'x'.repeat(L.prefChars + 1)).catch((e: unknown) => e);
      assert.ok(err instanceof PchatError);
      assert.equal(err.status, 413, 'FRAME_TOO_LARGE is 413');
    });

    it('an unknown user or one with chat disabled is refused before anything else is read', async (fx) => {
      const nobody = uri('nobody');
      for (const call of [
        () => prefs.setPref(nobody, 'bad label', 42 as unknown as string),
        () => prefs.getPref(nobody, 'bad label'),
      ]) {
        assert.deepEqual(await refusal(call()), ['USER_NOT_FOUND', undefined, `user ${nobody} does not exist`]);
      }
      const erin = uri('erin');
      await prefs.setPref(erin, 'theme', 'dark');
      await fx.admin.newPolicy('tag:prefs-off', { enablePersistentChat: false });
      await fx.admin.grantPolicy(erin, 'tag:prefs-off');
      await fx.core.model.poll();
      try {
        for (const call of [
          () => prefs.setPref(erin, 'theme', 'light'),
          () => prefs.setPref(erin, 'bad label', 'x'.repeat(L.prefChars + 1)),
          () => prefs.getPref(erin, 'bad label'),
          () => prefs.getPref(erin, 'theme'),
        ]) {
          const [code] = await refusal(call());
          assert.equal(code, 'POLICY_DISABLED');
        }
      } finally {
        await fx.admin.grantPolicy(erin, null);
        await fx.core.model.poll();
      }
      assert.equal(await prefs.getPref(erin, 'theme'), 'dark', 'nothing changed while refused');
    });

    it("a user keeps at most 100 documents: the 100th is stored, a 101st refused naming 'label' and the number; any of the 100 may be rewritten", async (fx) => {
      const user = await freshUser(fx, 'frank');
      for (let i = 0; i < L.prefsPerUser - 1; i++) await prefs.setPref(user, `p${i}`, i % 2 === 0 ? '' : 'v');
      assert.equal((await fx.store.prefs.usage(user)).count, L.prefsPerUser - 1);
      await prefs.setPref(user, 'hundredth', '');
      assert.equal((await fx.store.prefs.usage(user)).count, L.prefsPerUser, 'the 100th document is stored');
      const full = await fx.store.prefs.usage(user);
      for (const label of ['one-more', 'another', 'HUNDREDTH']) {
        assert.deepEqual(
          await refusal(prefs.setPref(user, label, '')),
          ['INVALID_VALUE', 'label', COUNT_MESSAGE],
          label,
        );
        assert.equal(await prefs.getPref(user, label), undefined, `${label}: not stored`);
      }
      assert.deepEqual(await fx.store.prefs.usage(user), full, 'refused writes changed nothing');
      // an existing document, even an empty one, is not a new one
      await prefs.setPref(user, 'hundredth', 'now with text');
      await prefs.setPref(user, 'p98', '');
      await prefs.setPref(user, 'p98', 'again');
      assert.equal(await prefs.getPref(user, 'hundredth'), 'now with text');
      assert.equal(await prefs.getPref(user, 'p98'), 'again');
      assert.equal((await fx.store.prefs.usage(user)).count, L.prefsPerUser);
      await prefs.setPref(uri('bob'), 'one-more', 'v');
      assert.equal(await prefs.getPref(uri('bob'), 'one-more'), 'v', "another user's count is their own");
    });

    it('a user keeps at most 1 MiB of documents in all: exactly 1 MiB is stored, one character more refused with FRAME_TOO_LARGE; a rewrite counts the old document out', async (fx) => {
      const alice = uri('alice');
      const grace = await freshUser(fx, 'grace');
      const per = L.prefChars;
      const fit = L.prefTotalChars / per; // 16 documents of 64 KiB
      for (let i = 0; i < fit - 1; i++) await prefs.setPref(grace, `big${i}`, 'b'.repeat(per));
      // the last one is one character short of the total, then exactly there
      await prefs.setPref(grace, 'last', 'l'.repeat(per - 1));
      assert.equal((await fx.store.prefs.usage(grace)).chars, L.prefTotalChars - 1);
      // [what, label, content, refused]; each row starts from the state the rows before left
      const rows: [what: string, label: string, content: string, refused: boolean][] = [
        ['a new document of 2 characters, one past the total', 'extra', 'xy', true],
        ['a new document of 1 character, exactly the total', 'extra', 'x', false],
        ['a new empty document at the total', 'empty', '', false],
        ['one character more, a new document', 'more', 'm', true],
        ['one character more, a rewrite of a short one', 'extra', 'xy', true],
        ['a rewrite of the same size', 'extra', 'z', false],
        ['a rewrite of a full document at the same size', 'big0', 'c'.repeat(per), false],
        ['a rewrite one character longer', 'last', 'l'.repeat(per), true],
        ['a rewrite that shrinks', 'big1', 'b'.repeat(per - 10), false],
        ['a rewrite that grows into the room freed', 'last', 'l'.repeat(per), false],
        ['a new document of the 9 characters left', 'nine', 'n'.repeat(9), false],
        ['then not one more', 'ten', 't', true],
      ];
      for (const [what, label, content, refused] of rows) {
        const before = await fx.store.prefs.usage(grace);
        const was = await prefs.getPref(grace, label);
        if (refused) {
          assert.deepEqual(
            await refusal(prefs.setPref(grace, label, content)),
            ['FRAME_TOO_LARGE', undefined, TOTAL_MESSAGE],
            what,
          );
          assert.deepEqual(await fx.store.prefs.usage(grace), before, `${what}: nothing stored`);
          assert.equal(await prefs.getPref(grace, label), was, `${what}: the document stays`);
        } else {
          await prefs.setPref(grace, label, content);
          assert.equal(await prefs.getPref(grace, label), content, what);
          assert.ok((await fx.store.prefs.usage(grace)).chars <= L.prefTotalChars, `${what}: within the total`);
        }
      }
      assert.equal((await fx.store.prefs.usage(grace)).chars, L.prefTotalChars, 'exactly the total');
      await prefs.setPref(alice, 'not-graces', 'a'.repeat(per));
      assert.equal((await prefs.getPref(alice, 'not-graces'))?.length, per, "another user's total is their own");
    });

    it('the total counts characters as the store does: a document of emoji, rewritten, frees only the characters it held', async (fx) => {
      const henry = await freshUser(fx, 'henry');
      const per = L.prefChars;
      // 32,768 rockets: 65,536 UTF-16 units (the most one document may hold), 32,768 characters to the store
      await prefs.setPref(henry, 'emoji', '🚀'.repeat(per / 2));
      assert.equal((await fx.store.prefs.usage(henry)).chars, per / 2);
      for (let i = 0; i < L.prefTotalChars / per - 1; i++) await prefs.setPref(henry, `big${i}`, 'b'.repeat(per));
      await prefs.setPref(henry, 'half', 'h'.repeat(per / 2));
      assert.equal((await fx.store.prefs.usage(henry)).chars, L.prefTotalChars, 'exactly the total');
      // the rewrite would add 32,768 characters: refused, though it is no longer than the old one in UTF-16 units
      assert.deepEqual(await refusal(prefs.setPref(henry, 'emoji', 'e'.repeat(per))), [
        'FRAME_TOO_LARGE',
        undefined,
        TOTAL_MESSAGE,
      ]);
      assert.equal((await fx.store.prefs.usage(henry)).chars, L.prefTotalChars, 'nothing stored');
      assert.equal(await prefs.getPref(henry, 'emoji'), '🚀'.repeat(per / 2), 'the document stays');
      // a rewrite to as many plain characters as it held fits exactly, and so does a new emoji where room was freed
      await prefs.setPref(henry, 'emoji', 'e'.repeat(per / 2));
      await prefs.setPref(henry, 'half', 'h'.repeat(per / 2 - 1));
      await prefs.setPref(henry, 'one', '🚀');
      assert.equal((await fx.store.prefs.usage(henry)).chars, L.prefTotalChars, 'exactly the total again');
      assert.deepEqual(await refusal(prefs.setPref(henry, 'two', '🚀')), ['FRAME_TOO_LARGE', undefined, TOTAL_MESSAGE]);
    });
  });
}
