// Room and user details for the adapters (AddChatRoomDetails, AddUserDetails), read from the chat store.
import type { Store } from '../store/port.js';
import type { RoomDetails, UserDetails } from './types.js';

export interface DetailsSource {
  room(id: string): Promise<RoomDetails | null>;
  user(uri: string): Promise<UserDetails>;
}

/** Reads the chat store; a user the directory does not know is reported as external (federated). */
export function detailsFromStore(store: Store, domain: string): DetailsSource {
  return {
    async room(id) {
      if (id === '') return null;
      const r = await store.rooms.get(id);
      if (!r) return { id, name: '', uri: `ma-chan://${domain}/${id}`, logged: false };
      const c = await store.categories.get(r.categoryId);
      return {
        id,
        name: r.name,
        uri: `ma-chan://${domain}/${id}`,
        logged: c?.chatHistory ?? true,
        description: r.description,
        category: c?.name ?? r.categoryId,
      };
    },
    async user(uri) {
      const u = uri.startsWith('sip:') ? await store.users.get(uri) : undefined;
      return u
        ? { uri, displayName: u.displayName, email: u.email, internal: true }
        : { uri, displayName: uri, email: null, internal: false };
    },
  };
}

/** Caches lookups for the length of one batch. */
export function cached(src: DetailsSource): DetailsSource {
  const rooms = new Map<string, Promise<RoomDetails | null>>();
  const users = new Map<string, Promise<UserDetails>>();
  return {
    room(id) {
      let p = rooms.get(id);
      if (!p) {
        p = src.room(id);
        rooms.set(id, p);
      }
      return p;
    },
    user(uri) {
      let p = users.get(uri);
      if (!p) {
        p = src.user(uri);
        users.set(uri, p);
      }
      return p;
    },
  };
}
