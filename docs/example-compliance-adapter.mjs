// An example custom compliance adapter for pchat (docs/compliance.md, "Custom adapters").
// Configure it with:
//   pchat compliance config set --adapter-type custom --adapter-module /path/to/example-compliance-adapter.mjs
// The module's default export is a factory: it receives the compliance configuration and returns an adapter
// with `name` and `write(batch, ctx)`. `write` must put every file it creates in ctx.outputDirectory, named
// with ctx.filePrefix, resolve only when they are durable, and return their names; throwing makes the worker
// retry the whole batch later. This one writes a CSV file per batch.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const csv = (v) => `"${String(v ?? '').replaceAll('"', '""')}"`;

export default function createAdapter(config) {
  const separator = typeof config.customConfiguration.separator === 'string' ? config.customConfiguration.separator : ',';
  return {
    name: 'example-csv',
    async write(batch, ctx) {
      const lines = ['eventId,type,door,time,room,sender,messageId,content'];
      for (const e of batch.events)
        lines.push(
          [e.id, e.type, e.door, new Date(e.ts).toISOString(), e.room?.name ?? '', e.sender, e.messageId ?? '', e.content]
            .map(csv)
            .join(separator),
        );
      const name = `${ctx.filePrefix}.csv`;
      await writeFile(join(ctx.outputDirectory, name), `${lines.join('\n')}\n`, { flush: true });
      return { files: [name] };
    },
  };
}
