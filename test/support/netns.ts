// A test network of the test's own, for a pool spread over several "hosts" on one machine: a bridge in the root
// namespace with the first address of a /24 (10.213.<random>.0/24, checked against `ip route` first), and one
// network namespace per host (`pc-<random>-<n>`), each joined to the bridge by a veth pair and given its own
// address. `cut(n)` takes the host's link down on the bridge side: its packets go nowhere and nobody gets a TCP
// reset, as when a host drops off the network; `mend(n)` brings it back. Traffic goes only to these addresses.
//
// Needs root and `ip` (iproute2). Outside CI a machine without them skips the suite and says so; under CI
// (CI=true) it fails, because CI runs as root and installs iproute2.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';

const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((p) => existsSync(p));

function ip(...args: string[]): string {
  return execFileSync(IP as string, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
}

/** Why a test network can't be made here, or undefined when it can. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'not root (ip netns needs root)';
  if (!IP) return 'no `ip` command (Debian package iproute2)';
  const probe = `pc-probe-${randomBytes(3).toString('hex')}`;
  const r = spawnSync(IP, ['netns', 'add', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `ip netns add fails here: ${r.stderr.trim()}`;
  spawnSync(IP, ['netns', 'del', probe]);
  return undefined;
}

/** Skips (outside CI) or fails (CI) when no test network can be made; true when the suite may go on. */
export function requireNetns(suite: string): boolean {
  const why = netnsUnavailable();
  if (!why) return true;
  if (process.env.CI) throw new Error(`CI requires network namespaces for ${suite}: ${why}`);
  console.log(`# SKIPPED ${suite}: ${why}`);
  return false;
}

export interface NetHost {
  /** 1-based. */
  index: number;
  /** The namespace's name, for `ip netns exec`. */
  ns: string;
  /** The host's address on the test network. */
  address: string;
  /** The veth end on the bridge (root namespace) side. */
  link: string;
}

/** A /24 with no route on this machine yet (so the test never shadows a real network). */
function freeSubnet(): string {
  const routes = ip('-4', 'route', 'show', 'table', 'all');
  for (let i = 0; i < 50; i++) {
    const third = 1 + Math.floor(Math.random() * 250);
    const net = `10.213.${third}.`;
    if (!routes.includes(net)) return net;
  }
  throw new Error('no free 10.213.x.0/24 for a test network');
}

export class TestNetwork {
  readonly hosts: NetHost[] = [];
  private created: { bridge?: string; ns: string[]; links: string[] } = { ns: [], links: [] };

  private constructor(
    readonly tag: string,
    /** The first three octets with a trailing dot, e.g. `10.213.77.`. */
    private readonly net: string,
  ) {}

  /** The bridge's address in the root namespace: servers the hosts reach (database, bus) listen here. */
  get gateway(): string {
    return `${this.net}1`;
  }

  get subnet(): string {
    return `${this.net}0/24`;
  }

  /** Makes the bridge and `count` hosts; on any failure removes whatever it made and throws. */
  static create(count: number): TestNetwork {
    const tag = randomBytes(3).toString('hex');
    const n = new TestNetwork(tag, freeSubnet());
    try {
      n.build(count);
    } catch (e) {
      n.destroy();
      throw e;
    }
    return n;
  }

  private build(count: number): void {
    const bridge = `pcbr${this.tag}`;
    ip('link', 'add', bridge, 'type', 'bridge');
    this.created.bridge = bridge;
    ip('addr', 'add', `${this.gateway}/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    for (let i = 1; i <= count; i++) {
      const ns = `pc-${this.tag}-${i}`;
      const outer = `pc${this.tag}h${i}`; // ≤ 15 characters, the kernel's limit for a link name
      const inner = `pc${this.tag}i${i}`;
      ip('netns', 'add', ns);
      this.created.ns.push(ns);
      ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
      this.created.links.push(outer);
      ip('link', 'set', inner, 'netns', ns);
      ip('link', 'set', outer, 'master', bridge);
      ip('link', 'set', outer, 'up');
      const address = `${this.net}${10 + i}`;
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', inner);
      ip('-n', ns, 'link', 'set', inner, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      this.hosts.push({ index: i, ns, address, link: outer });
    }
  }

  host(index: number): NetHost {
    const h = this.hosts[index - 1];
    if (!h) throw new Error(`no host ${index}`);
    return h;
  }

  /** The command line that runs `argv` inside the host's namespace. */
  exec(index: number, argv: string[]): { cmd: string; args: string[] } {
    return { cmd: IP as string, args: ['netns', 'exec', this.host(index).ns, ...argv] };
  }

  /** Cuts the host off: its link goes down on the bridge side, so nothing gets in or out and nothing is reset. */
  cut(index: number): void {
    ip('link', 'set', this.host(index).link, 'down');
  }

  mend(index: number): void {
    ip('link', 'set', this.host(index).link, 'up');
  }

  /** Removes the namespaces, the veth pairs and the bridge; safe to call twice and after a failed build. */
  destroy(): void {
    const quiet = (...args: string[]) => spawnSync(IP as string, args, { stdio: 'ignore' });
    for (const l of this.created.links) quiet('link', 'del', l);
    for (const ns of this.created.ns) quiet('netns', 'del', ns);
    if (this.created.bridge) quiet('link', 'del', this.created.bridge);
    this.created = { ns: [], links: [] };
  }
}
