// Reading and discarding the rest of a refused request body, so the client sees the answer (413, 403, …) instead
// of a connection reset while it is still sending. Past the limit the connection is closed after the answer.

/** How much of a refused body we read and discard (32 MiB). */
export const DRAIN_LIMIT = 32 * 1024 * 1024;

export async function drain(
  req: NodeJS.ReadableStream & { readableEnded?: boolean; destroyed?: boolean },
  limit = DRAIN_LIMIT,
): Promise<void> {
  if (req.readableEnded || req.destroyed) return;
  await new Promise<void>((resolve) => {
    let n = 0;
    const done = () => {
      req.off('data', onData);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      n += chunk.length;
      if (n > limit) {
        req.pause();
        done();
      }
    };
    req.on('data', onData);
    req.once('end', done);
    req.once('close', done);
    req.once('error', done);
    req.resume();
  });
}
