// The pure parts of the Lync migration, as tables: CSV as Export-Csv writes it, multi-valued cells, DNs,
// principal mapping, the flattening and naming rules, and compliance XML times.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { User } from '../../src/core/model.js';
import { DirectorySnapshot } from '../../src/directory/snapshot.js';
import { parseComplianceXml, timeOf } from '../../src/migration/compliance-xml.js';
import { parseCsv } from '../../src/migration/csv.js';
import { type DirectoryView, mapPrincipal, parseDn, splitMultiValue } from '../../src/migration/lync-principals.js';
import {
  findRoot,
  fitName,
  flattenNames,
  type LegacyCategory,
  type LegacyRoom,
  planLync,
} from '../../src/migration/lync-rules.js';

const user = (uri: string, displayName: string, ou: string | null = null): User => ({
  uri,
  displayName,
  email: null,
  ou,
  site: null,
  policy: null,
  isAdmin: false,
  disabled: false,
  createdAt: 1,
});

describe('CSV as Export-Csv writes it', () => {
  test('type line, quotes, doubled quotes, line breaks in fields, CRLF', () => {
    const t = parseCsv('x.csv', Buffer.from('#TYPE Some.Type\r\n"A","B"\r\n"1 ""q""","two\r\nlines"\r\n"",x\r\n'));
    assert.equal(t.type, 'Some.Type');
    assert.deepEqual(t.columns, ['A', 'B']);
    assert.deepEqual(
      t.rows.map((r) => [r.line, r.values.get('a'), r.values.get('b')]),
      [
        [3, '1 "q"', 'two\r\nlines'],
        [5, '', 'x'],
      ],
    );
  });
  test('UTF-8 BOM and UTF-16 LE (-Encoding Unicode) decode the same', () => {
    const text = '"Name"\r\n"技術部"\r\n';
    const utf8 = parseCsv('a', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]));
    const utf16 = parseCsv('b', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]));
    assert.equal(utf8.rows[0]?.values.get('name'), '技術部');
    assert.equal(utf16.rows[0]?.values.get('name'), '技術部');
  });
  for (const [name, body, re] of [
    ['unclosed quote', '"A"\n"oops\n', /line 2: a quoted field is not closed/],
    ['wrong field count', '"A","B"\n"1"\n', /line 2: 1 fields where the header has 2/],
    ['text after quote', '"A"\n"1"x\n', /text after a closing quote/],
    ['empty', '', /no header row/],
  ] as const)
    test(`refuses ${name}`, () => {
      assert.throws(
        () => parseCsv('f.csv', Buffer.from(body)),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'LEGACY_INPUT_INVALID');
          assert.match(e.message, re);
          return true;
        },
      );
    });
});

describe('multi-valued cells', () => {
  const cases: [string, string[]][] = [
    ['', []],
    ['{}', []],
    ['sip:a@x.com', ['sip:a@x.com']],
    ['sip:a@x.com;sip:b@x.com', ['sip:a@x.com', 'sip:b@x.com']],
    ['{sip:a@x.com, sip:b@x.com}', ['sip:a@x.com', 'sip:b@x.com']],
    ['sip:a@x.com\nCN=Eng,OU=Groups,DC=x,DC=com', ['sip:a@x.com', 'CN=Eng,OU=Groups,DC=x,DC=com']],
    ['CN=A B,OU=E,DC=x,DC=com, CN=C,OU=E,DC=x,DC=com', ['CN=A B,OU=E,DC=x,DC=com', 'CN=C,OU=E,DC=x,DC=com']],
    ['CN=A,DC=x,DC=com, sip:b@x.com', ['CN=A,DC=x,DC=com', 'sip:b@x.com']],
    ['a@x.com | b@x.com', ['a@x.com', 'b@x.com']],
  ];
  for (const [input, want] of cases) test(JSON.stringify(input), () => assert.deepEqual(splitMultiValue(input), want));
  for (const t of [
    'System.Object[]',
    'System.Collections.Generic.List`1[System.String]',
    'Microsoft.Rtc.Management.Chat.PrincipalCollection',
  ])
    test(`type name ${t} is refused`, () => assert.throws(() => splitMultiValue(t), /type name/));
});

describe('distinguished names', () => {
  test('RDNs with escapes', () => {
    assert.deepEqual(parseDn('CN=Smith\\, Alice,OU=Engineering,DC=contoso,DC=com'), [
      { type: 'CN', value: 'Smith, Alice' },
      { type: 'OU', value: 'Engineering' },
      { type: 'DC', value: 'contoso' },
      { type: 'DC', value: 'com' },
    ]);
    assert.deepEqual(parseDn('cn=A\\2CB'), [{ type: 'CN', value: 'A,B' }]);
    assert.equal(parseDn('not a dn'), null);
  });
  const dir: DirectoryView = {
    users: new Map(
      [
        user('sip:alice@contoso.com', 'Alice Smith', 'Contoso/Engineering'),
        user('sip:al2@contoso.com', 'Al Twin', 'Contoso/A'),
        user('sip:al3@contoso.com', 'Al Twin', 'Contoso/B'),
      ].map((u) => [u.uri, u]),
    ),
    groups: new Set(['engineering team']),
    internalDomains: new Set(['contoso.com']),
    knownNames: new Map([['sip:erin@fabrikam.com', 'Erin F']]),
  };
  const cases: [string, string][] = [
    ['sip:Alice@Contoso.com', 'sip:alice@contoso.com'],
    ['alice@contoso.com', 'sip:alice@contoso.com'],
    ['CN=Alice Smith,OU=Engineering,OU=Contoso,DC=contoso,DC=com', 'sip:alice@contoso.com'],
    ['CN=Engineering Team,OU=Groups,DC=contoso,DC=com', 'group:engineering team'],
    ['OU=Engineering,OU=Contoso,DC=contoso,DC=com', 'ou:Contoso/Engineering'],
    ['DC=contoso,DC=com', 'domain:contoso.com'],
    ['CN=Al Twin,OU=B,OU=Contoso,DC=contoso,DC=com', 'sip:al3@contoso.com'],
    ['CN=Al Twin,DC=contoso,DC=com', 'unmapped: 2 pchat users are named "Al Twin"'],
    ['CN=Nobody,OU=X,DC=contoso,DC=com', 'unmapped: no pchat user or group is named "Nobody"'],
    ['O=Contoso', 'unmapped: a O= name pchat has no principal for'],
    ['sip:bad uri', 'unmapped: not a valid SIP URI'],
    ['hello', 'unmapped: neither a SIP URI nor a distinguished name'],
    ['sip:erin@fabrikam.com', 'sip:erin@fabrikam.com created disabled "Erin F"'],
    ['sip:new@contoso.com', 'sip:new@contoso.com created enabled "new"'],
  ];
  for (const [input, want] of cases)
    test(`maps ${input}`, () => {
      const m = mapPrincipal(input, dir, 7);
      const got =
        'unmapped' in m
          ? `unmapped: ${m.unmapped}`
          : m.create
            ? `${m.ref} created ${m.create.disabled ? 'disabled' : 'enabled'} "${m.create.displayName}"`
            : m.ref;
      assert.equal(got, want);
    });
});

const cat = (name: string, parent: string | null, over: Partial<LegacyCategory> = {}): LegacyCategory => ({
  file: 'c.csv',
  line: 1,
  name,
  parent,
  description: '',
  invitations: true,
  fileUpload: true,
  chatHistory: true,
  allowedMembers: ['DC=contoso,DC=com'],
  deniedMembers: [],
  creators: [],
  managers: [],
  ...over,
});
const room = (name: string, category: string, over: Partial<LegacyRoom> = {}): LegacyRoom => ({
  file: 'r.csv',
  line: 1,
  name,
  description: '',
  category,
  privacy: 'closed',
  type: 'normal',
  addin: null,
  disabled: false,
  invitations: 'inherit',
  members: [],
  managers: [],
  presenters: [],
  legacyId: null,
  ...over,
});

describe('migration rules', () => {
  test('nested categories are flattened with their parents (not the root) as prefix', () => {
    const cats = [
      cat('Root', null),
      cat('Eng', 'Root'),
      cat('Tools', 'Eng'),
      cat('Arm', 'Tools'),
      cat('Sales', 'Root'),
    ];
    const root = findRoot(cats);
    assert.equal(root?.name, 'Root');
    const { names } = flattenNames(cats, 'Root');
    assert.deepEqual([...names.values()], ['Root', 'Eng', 'Eng - Tools', 'Eng - Tools - Arm', 'Sales']);
    assert.deepEqual([...flattenNames(cats, null).names.values()].slice(2, 3), ['Root - Eng - Tools']);
    assert.equal(findRoot([cat('A', null), cat('B', null)]), null, 'two top-level categories: no root');
    assert.deepEqual(flattenNames([cat('A', 'B'), cat('B', 'A')], null).cycles, ['A', 'B']);
  });
  test('fitName counts characters, not UTF-16 units', () => {
    assert.equal([...fitName('😀'.repeat(300))].length, 256);
    assert.equal(fitName('short'), 'short');
  });

  const dirUsers = [
    user('sip:alice@contoso.com', 'Alice Smith', 'Contoso/Engineering'),
    user('sip:bob@contoso.com', 'Bob'),
  ];
  const plan = (cats: LegacyCategory[], rooms: LegacyRoom[], root?: string) => {
    let n = 0;
    return planLync(
      { categories: cats, rooms, addins: [], endpoints: [], ...(root ? { rootCategory: root } : {}) },
      {
        users: new Map(dirUsers.map((u) => [u.uri, u])),
        groups: new Set(),
        internalDomains: new Set(['contoso.com']),
        knownNames: new Map(),
      },
      { categoriesByName: new Map(), roomsByName: new Map() },
      (extra) => new DirectorySnapshot([...dirUsers, ...extra], [], []),
      { uuid: () => `id-${++n}`, now: 1 },
    );
  };

  test('root managers manage every room; invitations off in the category force them off', () => {
    const p = plan(
      [
        cat('Root', null, { managers: ['CN=Alice Smith,OU=Engineering,OU=Contoso,DC=contoso,DC=com'] }),
        cat('Eng', 'Root', { invitations: false }),
        cat('Tools', 'Eng'),
      ],
      [room('R1', 'Eng', { managers: ['sip:bob@contoso.com'] }), room('R2', 'Tools')],
    );
    assert.deepEqual(p.errors, []);
    assert.deepEqual(
      p.rooms.map((r) => [r.name, r.managers, r.invitations]),
      [
        ['R1', ['sip:bob@contoso.com', 'sip:alice@contoso.com'], 'false'],
        ['R2', ['sip:alice@contoso.com'], 'inherit'],
      ],
    );
    assert.ok(p.notes.some((n) => /invitations forced off/.test(n.message)));
  });

  test('federated users become disabled principals; out-of-scope entries are purged with a note', () => {
    const p = plan(
      [cat('Eng', null, { allowedMembers: ['DC=contoso,DC=com', 'sip:erin@fabrikam.com'] }), cat('Local', null)],
      [
        room('R1', 'Eng', { members: ['sip:erin@fabrikam.com', 'sip:bob@contoso.com'] }),
        room('R2', 'Local', { members: ['sip:erin@fabrikam.com'] }),
      ],
    );
    const erin = p.users.find((u) => u.uri === 'sip:erin@fabrikam.com');
    assert.equal(erin?.disabled, true);
    assert.deepEqual([...p.federated], ['sip:erin@fabrikam.com']);
    assert.deepEqual(p.rooms.find((r) => r.name === 'R1')?.members, ['sip:erin@fabrikam.com', 'sip:bob@contoso.com']);
    assert.deepEqual(p.rooms.find((r) => r.name === 'R2')?.members, []);
    assert.ok(p.notes.some((n) => n.name === 'R2' && /removed from members/.test(n.message)));
  });

  test('a room whose name is taken is prefixed with its category, and kept within 256 characters', () => {
    const long = 'x'.repeat(250);
    const p = plan(
      [cat('Sales', null), cat(long, null)],
      [room('Sales', 'Sales'), room(long, long), room('y'.repeat(300), 'Sales')],
    );
    assert.deepEqual(p.errors, []);
    const names = p.rooms.map((r) => r.name);
    assert.equal(names[0], 'Sales - Sales');
    assert.equal([...(names[1] as string)].length, 256);
    assert.ok((names[1] as string).startsWith(`${long} - `));
    assert.equal([...(names[2] as string)].length, 256);
  });

  test('unmapped principals are reported, rooms of unknown categories are errors', () => {
    const p = plan(
      [cat('Eng', null)],
      [room('R1', 'Eng', { members: ['CN=Ghost,DC=contoso,DC=com'] }), room('R2', 'Nope')],
    );
    assert.deepEqual(
      p.unmapped.map((u) => u.name),
      ['CN=Ghost,DC=contoso,DC=com'],
    );
    assert.deepEqual(
      p.errors.map((e) => e.name),
      ['R2'],
    );
  });
});

describe('compliance XML', () => {
  test('each of the three DateTimeUTC forms gives the same time', () => {
    const ms = Date.UTC(2025, 0, 10, 9, 4, 0, 123);
    const ticks = (BigInt(ms) * 10000n + 621355968000000000n).toString();
    assert.equal(timeOf({ since1970: String(ms) }), ms);
    assert.equal(timeOf({ string: '2025-01-10T09:04:00.1230000Z' }), ms);
    assert.equal(timeOf({ long: ticks }), ms);
    assert.equal(timeOf({}), null);
  });
  test('the sample archive: namespace, any attribute order, FirstMessage once, entities decoded', () => {
    const f = 'test/fixtures/lync/compliance/20250110T0915.xml';
    const parsed = parseComplianceXml(f, readFileSync(f, 'utf8'));
    const general = parsed.events.filter((e) => e.channelName === 'General');
    assert.deepEqual(
      general.map((e) => e.type),
      ['JOIN', 'CHAT', 'CHAT', 'BACKCHAT', 'FILEUPLOAD', 'FILEDOWNLOAD', 'CHAT', 'CHAT', 'PART'],
    );
    assert.equal(general[2]?.sender.uri, 'sip:bob@contoso.com');
    assert.equal(general[7]?.content, '<b>not markup</b> & "quotes"');
    const erin = parsed.events.find((e) => e.sender.uri === 'sip:erin@fabrikam.com');
    assert.equal(erin?.sender.internal, false);
  });
  for (const [name, xml, re] of [
    ['not XML', '<Conversations><Conversation>', /not well-formed|Conversation/],
    ['wrong root', '<Other/>', /root element is not Conversations/],
    ['a DOCTYPE', '<!DOCTYPE x [<!ENTITY a "aaaa">]><Conversations/>', /DOCTYPE or ENTITY/],
    [
      'no time',
      '<Conversations><Conversation><Channel name="R"/><Messages><Message type="CHAT" content="x" id="1"/></Messages></Conversation></Conversations>',
      /no DateTimeUTC/,
    ],
  ] as const)
    test(`refuses ${name}`, () => assert.throws(() => parseComplianceXml('f.xml', xml), re));
});
