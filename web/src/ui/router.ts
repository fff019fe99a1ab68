// Hash routes (#/room/<id>?m=<messageId>, #/search, …): they work behind any static server, and a server
// path such as /manage (RoomManagementUrl) is turned into its hash route at start.
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  name: 'home' | 'browse' | 'room' | 'search' | 'feeds' | 'manage';
  id?: string;
  params: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const h = hash.replace(/^#/, '');
  const [path = '', query = ''] = h.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query);
  const [head, id] = parts;
  switch (head) {
    case 'browse':
    case 'search':
      return { name: head, params };
    case 'room':
      return id ? { name: 'room', id, params } : { name: 'home', params };
    case 'feeds':
      return id ? { name: 'feeds', id, params } : { name: 'feeds', params };
    case 'manage':
      return id ? { name: 'manage', id, params } : { name: 'manage', params };
    default:
      return { name: 'home', params };
  }
}

export function href(name: Route['name'], id?: string, params?: Record<string, string | number>): string {
  let h = name === 'home' ? '#/' : `#/${name}`;
  if (id) h += `/${encodeURIComponent(id)}`;
  if (params && Object.keys(params).length > 0)
    h += `?${new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]))}`;
  return h;
}

export function go(name: Route['name'], id?: string, params?: Record<string, string | number>): void {
  location.hash = href(name, id, params);
}

/** /manage, /manage/<id>, /room/<id> (server paths under the SPA fallback) become hash routes. */
export function adoptPath(): void {
  const p = location.pathname;
  if (p !== '/' && p !== '/index.html' && !location.hash) {
    const m = /^\/(manage|room|search|browse|feeds)(?:\/([^/]+))?\/?$/.exec(p);
    const target = m ? `#/${m[1]}${m[2] ? `/${m[2]}` : ''}` : '#/';
    history.replaceState(null, '', `/${location.search}${target}`);
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const fn = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', fn);
    return () => removeEventListener('hashchange', fn);
  }, []);
  return route;
}
