// A chat user in a process of its own, driven by the SDK: signs in, joins a room, announces itself on stdout
// ("ready"), answers the first message containing "ping" with "pong from <name>", waits until it sees its own
// reply come back from the server, then prints every message it saw as one JSON line and exits.
//   node --import tsx test/support/chat-peer.ts <serverUrl> <userUri> <password> <roomId>
import { PchatClient } from '../../src/client/index.js';

const [url, user, password, roomId] = process.argv.slice(2) as [string, string, string, string];
const client = new PchatClient(url);
await client.signIn(user, password);
const conn = await client.connect({ reconnect: false });
const seen: { author: string; text: string }[] = [];
let replied = false;
const done = new Promise<void>((resolve) => {
  conn.on('event', (e) => {
    if (e.type !== 'message' || e.message.roomId !== roomId) return;
    seen.push({ author: e.message.author, text: e.message.text });
    if (!replied && e.message.text.includes('ping') && e.message.author !== user) {
      replied = true;
      void conn.post(roomId, { text: `pong from ${user}` });
    }
    if (e.message.author === user && e.message.text.startsWith('pong')) resolve();
  });
});
const [joined] = await conn.join([roomId]);
if (!joined?.ok) {
  process.stdout.write(`${JSON.stringify({ error: joined })}\n`);
  process.exit(3);
}
process.stdout.write('ready\n');
const timer = setTimeout(() => process.exit(4), 15_000);
await done;
clearTimeout(timer);
process.stdout.write(`${JSON.stringify({ seen })}\n`);
await conn.close();
process.exit(0);
