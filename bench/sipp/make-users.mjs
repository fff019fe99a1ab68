#!/usr/bin/env node
// Writes a SIPp injection file (-inf) for pchat-login-join-post.xml, one line per user:
//   user;password;domain;chat-server-uri;room-id;[authentication username=<user> password=<password>]
// (the last field is SIPp's auth keyword, pre-expanded: SIPp 3.6 does not expand [fieldN] inside it).
// Usage:
//   node bench/sipp/make-users.mjs --count 100 --room <roomId> [--rooms id1,id2,…] [--prefix bench]
//        [--domain pchat.local] [--password secret] [--chat-uri sip:pchatpool-chat@pchat.local]
//        [--order SEQUENTIAL|RANDOM] [--out bench/sipp/users.csv]
// With several rooms, users are spread round-robin. The users and rooms must exist on the server (same passwords).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '100' },
    prefix: { type: 'string', default: 'bench' },
    domain: { type: 'string', default: 'pchat.local' },
    password: { type: 'string', default: 'bench-secret' },
    'chat-uri': { type: 'string' },
    room: { type: 'string' },
    rooms: { type: 'string' },
    order: { type: 'string', default: 'SEQUENTIAL' },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  console.log(
    'node bench/sipp/make-users.mjs --count N --room ID [--rooms A,B] [--prefix bench] [--domain pchat.local]\n' +
      '  [--password bench-secret] [--chat-uri sip:pchatpool-chat@<domain>] [--order SEQUENTIAL|RANDOM] [--out FILE]',
  );
  process.exit(0);
}

const count = Number(values.count);
if (!Number.isInteger(count) || count < 1) throw new Error(`--count must be a positive integer, got ${values.count}`);
const rooms = (values.rooms ?? values.room ?? '')
  .split(',')
  .map((r) => r.trim())
  .filter((r) => r !== '');
if (rooms.length === 0) throw new Error('give --room <id> or --rooms <id1,id2,…> (ids of existing rooms)');
for (const r of rooms) if (/[/;\s]/.test(r)) throw new Error(`room id must not contain '/', ';' or spaces: ${r}`);
for (const [k, v] of Object.entries({ prefix: values.prefix, domain: values.domain, password: values.password })) {
  if (/[;\s\]]/.test(v)) throw new Error(`--${k} must not contain ';', ']' or whitespace`);
}
const order = values.order.toUpperCase();
if (!['SEQUENTIAL', 'RANDOM', 'USER'].includes(order)) throw new Error('--order is SEQUENTIAL, RANDOM or USER');
const chatUri = values['chat-uri'] ?? `sip:pchatpool-chat@${values.domain}`;
if (!chatUri.startsWith('sip:')) throw new Error('--chat-uri must start with sip:');

const width = String(count).length;
const lines = [order];
for (let i = 1; i <= count; i++) {
  const user = `${values.prefix}${String(i).padStart(width, '0')}@${values.domain}`;
  const auth = `[authentication username=${user} password=${values.password}]`;
  lines.push([user, values.password, values.domain, chatUri, rooms[(i - 1) % rooms.length], auth].join(';'));
}
const text = `${lines.join('\n')}\n`;
if (values.out) {
  writeFileSync(values.out, text);
  console.error(`wrote ${count} users to ${values.out} (${rooms.length} room(s), chat server ${chatUri})`);
} else {
  process.stdout.write(text);
}
