// PchatClient: the typed SDK for pchat's REST API, and the way to a live WebSocket connection
// (`connect()`). Uses only web-platform APIs (fetch, ReadableStream, WebSocket), so it runs in browsers and
// in Node (where the `ws` package supplies WebSocket when the global one is missing).
import { type ConnectOptions, PchatConnection } from './connection.js';
import { PchatApiError } from './errors.js';
import type {
  Addin,
  Category,
  ChatConfig,
  Endpoint,
  FeedFilter,
  FeedInput,
  FollowView,
  Group,
  HistoryQuery,
  InvitationView,
  ListEditInput,
  Me,
  MessageView,
  Policy,
  PostInput,
  Room,
  RoomView,
  SearchInput,
  SearchView,
  ServerInfo,
  SignInResult,
  User,
} from './types.js';

export interface ClientOptions {
  token?: string;
  fetch?: typeof fetch;
  /**
   * The other servers of the same pool. A connection that cannot reach its server, or is told the server is on
   * standby, moves to the next one in turn and catches up there (a sign-in is valid on every server of a pool).
   */
  servers?: string[];
}

type Query = Record<string, string | number | boolean | string[] | undefined>;

export type UploadBody = Uint8Array | Blob | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

export interface AdminRoomInput {
  name?: string;
  description?: string;
  category?: string;
  privacy?: 'open' | 'closed' | 'secret';
  type?: 'normal' | 'auditorium';
  disabled?: boolean;
  addin?: string | null;
  invitations?: 'inherit' | 'false';
  members?: ListEditInput;
  managers?: ListEditInput;
  presenters?: ListEditInput;
}

export class PchatClient {
  private readonly urls: string[];
  private current = 0;
  token: string | undefined;
  /** Kept after signIn so a reconnecting WebSocket can sign in again when its token has expired. */
  private credentials: { user: string; password: string } | undefined;
  private readonly fetchImpl: typeof fetch;

  constructor(baseUrl: string, opts: ClientOptions = {}) {
    const trim = (u: string) => u.replace(/\/+$/, '');
    this.urls = [trim(baseUrl), ...(opts.servers ?? []).map(trim).filter((u) => u !== trim(baseUrl))];
    this.token = opts.token;
    this.fetchImpl = opts.fetch ?? ((input, init) => fetch(input, init));
  }

  /** The server this client talks to now. */
  get baseUrl(): string {
    return this.urls[this.current] as string;
  }

  /** Moves to the next server of the pool; false when only one is known. */
  nextServer(): boolean {
    if (this.urls.length < 2) return false;
    this.current = (this.current + 1) % this.urls.length;
    return true;
  }

  // ---- plumbing --------------------------------------------------------------------------------------------

  private url(path: string, query?: Query): string {
    const u = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const x of v) u.searchParams.append(k, x);
      else u.searchParams.set(k, String(v));
    }
    return u.toString();
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...extra };
  }

  /** One JSON call; throws PchatApiError with the server's code on a non-2xx answer. */
  async call<T>(method: string, path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
    const init: RequestInit = { method, headers: this.headers() };
    if (opts.body !== undefined) {
      init.body = JSON.stringify(opts.body);
      init.headers = this.headers({ 'content-type': 'application/json' });
    }
    const res = await this.fetchImpl(this.url(path, opts.query), init);
    return (await this.parse(res)) as T;
  }

  private async parse(res: Response): Promise<unknown> {
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (!res.ok) throw errorFrom(res.status, body);
    return body;
  }

  // ---- sessions --------------------------------------------------------------------------------------------

  async signIn(user: string, password: string): Promise<SignInResult> {
    const r = await this.call<SignInResult>('POST', '/api/sessions', { body: { user, password } });
    this.token = r.token;
    this.credentials = { user, password };
    return r;
  }

  /** Signs in again with the credentials of the last signIn (used by reconnects); false when there are none. */
  async refreshToken(): Promise<boolean> {
    if (!this.credentials) return false;
    await this.signIn(this.credentials.user, this.credentials.password);
    return true;
  }

  async signOut(): Promise<void> {
    await this.call('DELETE', '/api/sessions/current');
    this.token = undefined;
    this.credentials = undefined;
  }

  me(): Promise<Me> {
    return this.call('GET', '/api/me');
  }
  server(): Promise<ServerInfo> {
    return this.call('GET', '/api/server');
  }

  // ---- rooms and messages ----------------------------------------------------------------------------------

  async rooms(q: { q?: string; limit?: number } = {}): Promise<RoomView[]> {
    return (await this.call<{ rooms: RoomView[] }>('GET', '/api/rooms', { query: q })).rooms;
  }
  async associations(role: 'member' | 'manager' = 'member'): Promise<RoomView[]> {
    return (await this.call<{ rooms: RoomView[] }>('GET', '/api/rooms/associations', { query: { role } })).rooms;
  }
  async room(id: string): Promise<RoomView> {
    return (await this.call<{ room: RoomView }>('GET', `/api/rooms/${enc(id)}`)).room;
  }
  async history(roomId: string, q: HistoryQuery = {}): Promise<MessageView[]> {
    const query = { before: q.before, after: q.after, limit: q.limit };
    return (await this.call<{ messages: MessageView[] }>('GET', `/api/rooms/${enc(roomId)}/messages`, { query }))
      .messages;
  }
  async post(roomId: string, input: PostInput): Promise<MessageView> {
    return (await this.call<{ message: MessageView }>('POST', `/api/rooms/${enc(roomId)}/messages`, { body: input }))
      .message;
  }
  search(q: SearchInput): Promise<SearchView> {
    return this.call('GET', '/api/search', {
      query: {
        q: q.text,
        room: q.room,
        author: q.authors,
        since: q.since,
        until: q.until,
        exact: q.exact,
        case: q.case,
        before: q.before,
        limit: q.limit,
      },
    });
  }

  // ---- files -----------------------------------------------------------------------------------------------

  /** Streams a file into a room; the server answers with the file message. */
  async upload(roomId: string, file: { name: string; contentType?: string; body: UploadBody }): Promise<MessageView> {
    const body = toUploadBody(file.body);
    const init: RequestInit & { duplex?: 'half' } = {
      method: 'POST',
      headers: this.headers({
        'content-type': file.contentType ?? 'application/octet-stream',
        'x-file-name': encodeURIComponent(file.name),
      }),
      body,
    };
    if (body instanceof ReadableStream) init.duplex = 'half';
    const res = await this.fetchImpl(this.url(`/api/rooms/${enc(roomId)}/files`), init);
    return ((await this.parse(res)) as { message: MessageView }).message;
  }

  /** The file's response, for streaming its body; throws PchatApiError when refused. */
  async downloadResponse(fileId: string): Promise<Response> {
    const res = await this.fetchImpl(this.url(`/api/files/${enc(fileId)}`), { headers: this.headers() });
    if (!res.ok) await this.parse(res);
    return res;
  }

  async download(fileId: string): Promise<{ name: string; contentType: string; data: Uint8Array }> {
    const res = await this.downloadResponse(fileId);
    return {
      name: fileNameOf(res.headers.get('content-disposition')) ?? fileId,
      contentType: res.headers.get('content-type') ?? 'application/octet-stream',
      data: new Uint8Array(await res.arrayBuffer()),
    };
  }

  // ---- follows, invitations, feeds, preferences ------------------------------------------------------------

  async follows(): Promise<FollowView[]> {
    return (await this.call<{ follows: FollowView[] }>('GET', '/api/follows')).follows;
  }
  following(roomId: string): Promise<{ following: boolean; roomId: string; unread?: number; lastReadId?: number }> {
    return this.call('GET', `/api/follows/${enc(roomId)}`);
  }
  async follow(roomId: string): Promise<void> {
    await this.call('PUT', `/api/follows/${enc(roomId)}`);
  }
  async unfollow(roomId: string): Promise<void> {
    await this.call('DELETE', `/api/follows/${enc(roomId)}`);
  }
  async markRead(roomId: string, messageId: number): Promise<void> {
    await this.call('POST', `/api/follows/${enc(roomId)}/read`, { body: { messageId } });
  }
  async invitations(after = 0, limit?: number): Promise<InvitationView[]> {
    return (await this.call<{ invitations: InvitationView[] }>('GET', '/api/invitations', { query: { after, limit } }))
      .invitations;
  }
  async feeds(): Promise<FeedFilter[]> {
    return (await this.call<{ feeds: FeedFilter[] }>('GET', '/api/feeds')).feeds;
  }
  async getFeed(id: string): Promise<FeedFilter> {
    return (await this.call<{ feed: FeedFilter }>('GET', `/api/feeds/${enc(id)}`)).feed;
  }
  async createFeed(input: FeedInput): Promise<FeedFilter> {
    return (await this.call<{ feed: FeedFilter }>('POST', '/api/feeds', { body: input })).feed;
  }
  async updateFeed(id: string, input: FeedInput): Promise<FeedFilter> {
    return (await this.call<{ feed: FeedFilter }>('PUT', `/api/feeds/${enc(id)}`, { body: input })).feed;
  }
  async deleteFeed(id: string): Promise<void> {
    await this.call('DELETE', `/api/feeds/${enc(id)}`);
  }
  async feedMessages(id: string, q: { before?: number; limit?: number } = {}): Promise<MessageView[]> {
    return (await this.call<{ messages: MessageView[] }>('GET', `/api/feeds/${enc(id)}/messages`, { query: q }))
      .messages;
  }
  async getPref(label: string): Promise<string | null> {
    return (await this.call<{ content: string | null }>('GET', `/api/prefs/${enc(label)}`)).content;
  }
  async setPref(label: string, content: string): Promise<void> {
    await this.call('PUT', `/api/prefs/${enc(label)}`, { body: { content } });
  }

  // ---- admin -----------------------------------------------------------------------------------------------

  readonly admin = {
    rooms: async (q: Query = {}): Promise<Room[]> =>
      (await this.call<{ rooms: Room[] }>('GET', '/api/admin/rooms', { query: q })).rooms,
    newRoom: async (input: AdminRoomInput & { name: string; category: string }): Promise<Room> =>
      (await this.call<{ room: Room }>('POST', '/api/admin/rooms', { body: input })).room,
    getRoom: async (key: string): Promise<Room> =>
      (await this.call<{ room: Room }>('GET', `/api/admin/rooms/${enc(key)}`)).room,
    setRoom: async (key: string, input: AdminRoomInput): Promise<Room> =>
      (await this.call<{ room: Room }>('PATCH', `/api/admin/rooms/${enc(key)}`, { body: input })).room,
    removeRoom: async (key: string): Promise<void> => {
      await this.call('DELETE', `/api/admin/rooms/${enc(key)}`);
    },
    categories: async (): Promise<Category[]> =>
      (await this.call<{ categories: Category[] }>('GET', '/api/admin/categories')).categories,
    newCategory: async (input: Record<string, unknown> & { name: string }): Promise<Category> =>
      (await this.call<{ category: Category }>('POST', '/api/admin/categories', { body: input })).category,
    setCategory: async (key: string, input: Record<string, unknown>): Promise<Category> =>
      (await this.call<{ category: Category }>('PATCH', `/api/admin/categories/${enc(key)}`, { body: input })).category,
    removeCategory: async (key: string): Promise<void> => {
      await this.call('DELETE', `/api/admin/categories/${enc(key)}`);
    },
    users: async (filter?: string): Promise<User[]> =>
      (await this.call<{ users: User[] }>('GET', '/api/admin/users', { query: { filter } })).users,
    addUser: async (input: Record<string, unknown> & { uri: string }): Promise<User> =>
      (await this.call<{ user: User }>('POST', '/api/admin/users', { body: input })).user,
    setUser: async (uri: string, input: Record<string, unknown>): Promise<User> =>
      (await this.call<{ user: User }>('PATCH', `/api/admin/users/${enc(uri)}`, { body: input })).user,
    removeUser: async (uri: string): Promise<void> => {
      await this.call('DELETE', `/api/admin/users/${enc(uri)}`);
    },
    policies: async (): Promise<Policy[]> =>
      (await this.call<{ policies: Policy[] }>('GET', '/api/admin/policies')).policies,
    setPolicy: async (identity: string, input: { enablePersistentChat?: boolean; description?: string }) =>
      (await this.call<{ policy: Policy }>('PUT', `/api/admin/policies/${enc(identity)}`, { body: input })).policy,
    config: async (): Promise<ChatConfig> =>
      (await this.call<{ config: ChatConfig }>('GET', '/api/admin/config')).config,
    setConfig: async (input: Partial<ChatConfig>): Promise<ChatConfig> =>
      (await this.call<{ config: ChatConfig }>('PATCH', '/api/admin/config', { body: input })).config,
    removePolicy: async (identity: string): Promise<void> => {
      await this.call('DELETE', `/api/admin/policies/${enc(identity)}`);
    },
    /** Grants a tag policy to a user; null removes the user's assignment. */
    grantPolicy: async (user: string, policy: string | null): Promise<User> =>
      (await this.call<{ user: User }>('POST', '/api/admin/policy-grants', { body: { user, policy } })).user,
    groups: async (): Promise<Group[]> => (await this.call<{ groups: Group[] }>('GET', '/api/admin/groups')).groups,
    newGroup: async (input: { name: string; description?: string; members?: ListEditInput }): Promise<Group> =>
      (await this.call<{ group: Group }>('POST', '/api/admin/groups', { body: input })).group,
    setGroup: async (name: string, input: { description?: string; members?: ListEditInput }): Promise<Group> =>
      (await this.call<{ group: Group }>('PATCH', `/api/admin/groups/${enc(name)}`, { body: input })).group,
    removeGroup: async (name: string): Promise<void> => {
      await this.call('DELETE', `/api/admin/groups/${enc(name)}`);
    },
    addins: async (): Promise<Addin[]> => (await this.call<{ addins: Addin[] }>('GET', '/api/admin/addins')).addins,
    newAddin: async (input: Addin): Promise<Addin> =>
      (await this.call<{ addin: Addin }>('POST', '/api/admin/addins', { body: input })).addin,
    removeAddin: async (name: string): Promise<void> => {
      await this.call('DELETE', `/api/admin/addins/${enc(name)}`);
    },
    endpoints: async (): Promise<Endpoint[]> =>
      (await this.call<{ endpoints: Endpoint[] }>('GET', '/api/admin/endpoints')).endpoints,
    newEndpoint: async (input: { sipAddress: string; displayName?: string; pool?: string }): Promise<Endpoint> =>
      (await this.call<{ endpoint: Endpoint }>('POST', '/api/admin/endpoints', { body: input })).endpoint,
    removeEndpoint: async (sipAddress: string): Promise<void> => {
      await this.call('DELETE', `/api/admin/endpoints/${enc(sipAddress)}`);
    },
    eligible: async (q: { category?: string; room?: string; presenters?: boolean }): Promise<User[]> =>
      (await this.call<{ users: User[] }>('GET', '/api/admin/eligible', { query: q })).users,
  };

  // ---- live connection -------------------------------------------------------------------------------------

  /** Opens the WebSocket, signs it in and resolves when it is ready. */
  async connect(opts: ConnectOptions = {}): Promise<PchatConnection> {
    const conn = new PchatConnection(this, opts);
    await conn.open();
    return conn;
  }

  /** ws(s)://host/ws */
  wsUrl(): string {
    const u = new URL(`${this.baseUrl}/ws`);
    u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
    return u.toString();
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

export function errorFrom(status: number, body: unknown): PchatApiError {
  const e = (body as { error?: { code?: string; message?: string; field?: string } } | undefined)?.error;
  return new PchatApiError(e?.code ?? `HTTP_${status}`, e?.message ?? `HTTP ${status}`, status, e?.field);
}

function toUploadBody(b: UploadBody): NonNullable<RequestInit['body']> {
  if (b instanceof Uint8Array || b instanceof Blob || b instanceof ReadableStream)
    return b as NonNullable<RequestInit['body']>;
  const it = (b as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await it.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel() {
      await it.return?.();
    },
  });
}

function fileNameOf(cd: string | null): string | undefined {
  if (!cd) return undefined;
  const star = /filename\*=UTF-8''([^;]+)/i.exec(cd);
  if (star?.[1]) {
    try {
      return decodeURIComponent(star[1]);
    } catch {
      // fall through to the plain form
    }
  }
  return /filename="([^"]*)"/i.exec(cd)?.[1];
}
