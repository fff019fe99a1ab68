// A read-only picture of the directory (users, groups, policies) in memory, from which subjects are built
// for the pure access rules. Group nesting is expanded here, once per snapshot.
import type { Group, Policy, PrincipalRef, User } from '../core/model.js';
import { refKind, type Subject, sipDomain, subjectMatches } from '../core/principals.js';
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

  /** Every user that `refs` names, groups and OUs expanded. */
  expand(refs: readonly PrincipalRef[]): User[] {
    const out: User[] = [];
    for (const u of this.users.values()) {
      const s = this.resolveUser(u.uri);
      if (s && subjectMatches(s, refs)) out.push(u);
    }
    return out;
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
