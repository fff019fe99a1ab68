// Which methods a concrete path has routes for, to answer 405 with Allow (Fastify answers 404 for a known path
// with the wrong method). Filled from Fastify's onRoute hook.
export class RouteTable {
  private readonly routes: { method: string; re: RegExp }[] = [];

  add(method: string | string[], url: string): void {
    if (url.includes('*')) return; // the static files' catch-all is not an API route
    const re = new RegExp(
      `^${url
        .split('/')
        .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/')}/?$`,
    );
    for (const m of Array.isArray(method) ? method : [method]) this.routes.push({ method: m, re });
  }

  allowed(path: string): string[] {
    const out = new Set<string>();
    for (const r of this.routes) if (r.method !== 'HEAD' && r.re.test(path)) out.add(r.method);
    return [...out];
  }
}
