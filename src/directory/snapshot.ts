// A read-only picture of the directory (users, groups, policies) in memory, from which subjects are built
// for the pure access rules. Group nesting is expanded here, once per snapshot.
import type { Group, Policy, PrincipalRef, User } from '../core/model.js';
import { refKind, type Subject, sipDomain } from '../core/principals.js';
import type { AclContext } from '../core/rules.js';
import type { Store } from '../store/port.js';

export class DirectorySnapshot implements AclContext {
  readonly users: ReadonlyMap<string, User>;
  readonly groups: ReadonlyMap<string, Group>;
  readonly policies: ReadonlyMap<string, Policy>;
  /** group name → every group that contains it, transitively */
  private readonly ancestors = new Map<string, Set<string>>();
  /** user uri → every group they are in, transitively */
  private readonly userGroups = new Map<string, Set<string>>();
  private readonly subjects = new Map<string, Subject>();
  /** group name → every user in it, directly or through nesting */
  private readonly groupUsers = new Map<string, string[]>();
  private readonly usersByDomain = new Map<string, string[]>();
  private readonly usersByOu = new Map<string, string[]>();

  constructor(users: User[], groups: Group[], policies: Policy[]) {
    this.users = new Map(users.map((u) => [u.uri, u]));
    this.groups = new Map(groups.map((g) => [g.name, g]));
    this.policies = new Map(policies.map((p) => [p.identity, p]));
    const parents = new Map<string, string[]>(); // member ref → groups that list it directly
    for (const g of groups) {
      for (const m of g.members) {
        const list = parents.get(m) ?? [];
        list.push(g.name);
        parents.set(m, list);
      }
    }
    const closure = (start: string): Set<string> => {
      const seen = new Set<string>();
      const queue = [...(parents.get(start) ?? [])];
      while (queue.length > 0) {
        const g = queue.pop() as string;
        if (seen.has(g)) continue;
        seen.add(g);
        queue.push(...(parents.get(`group:${g}`) ?? []));
      }
      return seen;
    };
    for (const g of groups) this.ancestors.set(g.name, closure(`group:${g.name}`));
    for (const [ref] of parents) if (refKind(ref) === 'user') this.userGroups.set(ref, closure(ref));
    const push = (m: Map<string, string[]>, k: string, v: string) => {
      const list = m.get(k);
      if (list) list.push(v);
      else m.set(k, [v]);
    };
    for (const [uri, gs] of this.userGroups) for (const g of gs) push(this.groupUsers, g, uri);
    for (const u of users) {
      push(this.usersByDomain, sipDomain(u.uri), u.uri);
      if (u.ou) push(this.usersByOu, u.ou, u.uri);
    }
  }

  static async load(store: Store): Promise<DirectorySnapshot> {
    const [users, groups, policies] = await Promise.all([
      store.users.list(),
      store.groups.list(),
      store.policies.list(),
    ]);
    return new DirectorySnapshot(users, groups, policies);
  }

  /** EnablePersistentChat of the user's effective policy: granted tag policy, else site policy, else global. */
  chatEnabled(u: User): boolean {
    const p =
      (u.policy ? this.policies.get(`tag:${u.policy}`) : undefined) ??
      (u.site ? this.policies.get(`site:${u.site}`) : undefined) ??
      this.policies.get('global');
    return p?.enablePersistentChat ?? false;
  }

  resolveUser(uri: string): Subject | undefined {
    const cached = this.subjects.get(uri);
    if (cached) return cached;
    const u = this.users.get(uri);
    if (!u) return undefined;
    const s: Subject = {
      uri: u.uri,
      domain: sipDomain(u.uri),
      ou: u.ou,
      groups: this.userGroups.get(u.uri) ?? new Set(),
      isAdmin: u.isAdmin,
      chatEnabled: !u.disabled && this.chatEnabled(u),
    };
    this.subjects.set(uri, s);
    return s;
  }

  groupAncestors(name: string): ReadonlySet<string> {
    return this.ancestors.get(name) ?? new Set();
  }

  /** Does the principal exist? Users and groups must; OUs and domains are open-ended. */
  exists(ref: PrincipalRef): boolean {
    switch (refKind(ref)) {
      case 'user':
        return this.users.has(ref);
      case 'group':
        return this.groups.has(ref.slice(6));
      default:
        return true;
    }
  }

  /** Every user that `refs` names, groups and OUs expanded, in URI order. Indexed: no scan of the directory. */
  expand(refs: readonly PrincipalRef[]): User[] {
    const uris = new Set<string>();
    for (const ref of refs) {
      switch (refKind(ref)) {
        case 'user':
          if (this.users.has(ref)) uris.add(ref);
          break;
        case 'group':
          for (const u of this.groupUsers.get(ref.slice(6)) ?? []) uris.add(u);
          break;
        case 'domain':
          for (const u of this.usersByDomain.get(ref.slice(7)) ?? []) uris.add(u);
          break;
        case 'ou': {
          const path = ref.slice(3);
          for (const [ou, list] of this.usersByOu) {
            if (ou === path || ou.startsWith(`${path}/`)) for (const u of list) uris.add(u);
          }
        }
      }
    }
    return [...uris].sort().map((u) => this.users.get(u) as User);
  }

  /** The subjects of every user `ref` stands for (a group, OU or domain expanded; a user as themself). */
  usersOf(ref: PrincipalRef): Subject[] {
    return this.expand([ref]).map((u) => this.resolveUser(u.uri) as Subject);
  }

  /** Would adding `member` to group `group` make a group contain itself? */
  wouldCycle(group: string, member: PrincipalRef): boolean {
    if (!member.startsWith('group:')) return false;
    const m = member.slice(6);
    return m === group || this.groupAncestors(group).has(m);
  }
}
