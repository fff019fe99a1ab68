// `pchat migrate lync`: the room directory from the cmdlets' CSV (Get-CsPersistentChatRoom / -Category /
// -Addin / -Endpoint | Export-Csv), the content from the compliance XML archives, the rules of inventory §6
// (lync-rules.ts), and a report. --what-if reads and checks everything and changes nothing. A real run
// writes the directory in bounded transactions, then each compliance file's messages in bounded
// transactions that also record how far that file got, so a crashed run resumes where it stopped and a
// second run does not import a file twice.
import { createHash, randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PchatError } from '../core/errors.js';
import { type Addin, type Endpoint, PRIVACY, ROOM_INVITATIONS, ROOM_TYPES, type User } from '../core/model.js';
import { normalizeSipUri, sipDomain } from '../core/principals.js';
import { DirectorySnapshot } from '../directory/snapshot.js';
import type { NewMessage, Store } from '../store/port.js';
import { type ComplianceEvent, type EventType, parseComplianceXml } from './compliance-xml.js';
import { type CsvRow, type CsvTable, cell, legacyError, parseCsv } from './csv.js';
import { isTypeName, splitMultiValue } from './lync-principals.js';
import { type Finding, type LegacyCategory, type LegacyRoom, type LyncPlan, planLync } from './lync-rules.js';

export interface LyncFiles {
  rooms: string;
  categories: string;
  addins?: string;
  endpoints?: string;
  /** Directory of compliance XML files (*.xml). */
  compliance?: string;
}

export interface LyncOptions {
  whatIf?: boolean;
  rootCategory?: string;
  /** The organisation's SIP domains (default: the endpoints' and the internal senders' domains). */
  sipDomains?: string[];
  now?: number;
  uuid?: () => string;
}

export interface LyncReport {
  whatIf: boolean;
  categories: string[];
  rooms: string[];
  usersCreated: string[];
  federated: string[];
  addins: string[];
  endpoints: string[];
  notes: Finding[];
  unmapped: Finding[];
  errors: Finding[];
  content: {
    files: number;
    filesAlreadyImported: number;
    /** Messages imported (or, with what-if, to import) per room name. */
    messages: Record<string, number>;
    /** Events that have no place in a room's history (joins, parts, history views, downloads). */
    notImported: Partial<Record<EventType | 'unknown', number>>;
    /** Channels of the compliance archives that match no migrated room. */
    unknownChannels: string[];
  };
}

const BATCH = 500;

const bool = (t: CsvTable, row: CsvRow, def: boolean, ...names: string[]): boolean => {
  const v = cell(row, ...names)?.trim();
  if (v === undefined || v === '') return def;
  if (/^(true|\$true|1|yes)$/i.test(v)) return true;
  if (/^(false|\$false|0|no)$/i.test(v)) return false;
  throw legacyError(t.file, row.line, `${names[0]}: "${v}" is not True or False`);
};

function oneOf<T extends string>(t: CsvTable, row: CsvRow, allowed: readonly T[], def: T, ...names: string[]): T {
  const v = cell(row, ...names)
    ?.trim()
    .toLowerCase();
  if (v === undefined || v === '') return def;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw legacyError(t.file, row.line, `${names[0]}: "${v}" is not one of ${allowed.join(', ')}`);
}

function multi(t: CsvTable, row: CsvRow, name: string): string[] {
  const v = cell(row, name);
  if (v === undefined) return [];
  try {
    return splitMultiValue(v);
  } catch (e) {
    throw legacyError(t.file, row.line, `${name} ${(e as Error).message}`);
  }
}

/** `atl-pc-001.contoso.com\Engineering` → `Engineering`. */
const afterPool = (s: string) => s.slice(s.lastIndexOf('\\') + 1).trim();

function required(t: CsvTable, row: CsvRow, ...names: string[]): string {
  const v = cell(row, ...names)?.trim();
  if (!v) throw legacyError(t.file, row.line, `${names[0]} is empty`);
  return v;
}

async function table(path: string): Promise<CsvTable> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new PchatError('LEGACY_INPUT_INVALID', `${path}: cannot be read (${(e as NodeJS.ErrnoException).code})`, {
      field: 'file',
    });
  }
  const t = parseCsv(path, bytes);
  for (const row of t.rows)
    for (const col of t.columns) {
      const v = row.values.get(col.toLowerCase()) ?? '';
      if (isTypeName(v) && /members|managers|presenters|creators/i.test(col))
        throw legacyError(
          path,
          row.line,
          `${col} holds the type name "${v}" instead of its values (export it with -join ';')`,
        );
    }
  return t;
}

export function readCategories(t: CsvTable): LegacyCategory[] {
  return t.rows.map((row) => {
    const name = cell(row, 'Name')?.trim() || afterPool(required(t, row, 'Name', 'Identity'));
    const parent = cell(row, 'Parent', 'ParentCategory')?.trim();
    return {
      file: t.file,
      line: row.line,
      name,
      parent: parent ? afterPool(parent) : null,
      description: cell(row, 'Description') ?? '',
      invitations: bool(t, row, true, 'Invitations', 'EnableInvitations'),
      fileUpload: bool(t, row, true, 'FileUpload', 'EnableFileUpload'),
      chatHistory: bool(t, row, true, 'ChatHistory'),
      allowedMembers: multi(t, row, 'AllowedMembers'),
      deniedMembers: multi(t, row, 'DeniedMembers'),
      creators: multi(t, row, 'Creators'),
      managers: multi(t, row, 'Managers'),
    };
  });
}

export function readRooms(t: CsvTable): LegacyRoom[] {
  return t.rows.map((row) => {
    const uri = cell(row, 'ChatRoomUri', 'Uri', 'RoomUri')?.trim();
    const legacyId = uri ? (/^ma-chan:\/\/[^/]+\/([^/]+)$/i.exec(uri)?.[1] ?? null) : null;
    if (uri && !legacyId) throw legacyError(t.file, row.line, `ChatRoomUri: "${uri}" is not ma-chan://pool/id`);
    const addin = cell(row, 'Addin')?.trim();
    return {
      file: t.file,
      line: row.line,
      name: cell(row, 'Name')?.trim() || afterPool(required(t, row, 'Name', 'Identity')),
      description: cell(row, 'Description') ?? '',
      category: afterPool(required(t, row, 'Category')),
      privacy: oneOf(t, row, PRIVACY, 'closed', 'Privacy'),
      type: oneOf(t, row, ROOM_TYPES, 'normal', 'Type'),
      addin: addin ? afterPool(addin) : null,
      disabled: bool(t, row, false, 'Disabled'),
      invitations: oneOf(t, row, ROOM_INVITATIONS, 'inherit', 'Invitations'),
      members: multi(t, row, 'Members'),
      managers: multi(t, row, 'Managers'),
      presenters: multi(t, row, 'Presenters'),
      legacyId,
    };
  });
}

function readAddins(t: CsvTable): Addin[] {
  return t.rows.map((row) => ({
    name: cell(row, 'Name')?.trim() || afterPool(required(t, row, 'Name', 'Identity')),
    url: required(t, row, 'Url'),
  }));
}

function readEndpoints(t: CsvTable, defaultPool: string): Endpoint[] {
  return t.rows.map((row) => {
    const raw = required(t, row, 'SipAddress');
    let sipAddress: string;
    try {
      sipAddress = normalizeSipUri(raw, 'SipAddress');
    } catch (e) {
      throw legacyError(t.file, row.line, (e as Error).message);
    }
    return {
      sipAddress,
      displayName: cell(row, 'DisplayName')?.trim() || 'Persistent Chat',
      pool: cell(row, 'PersistentChatPoolFqdn')?.trim() || defaultPool,
    };
  });
}

interface XmlFile {
  path: string;
  sha256: string;
  start: number;
  events: number;
}

async function complianceFiles(dir: string): Promise<XmlFile[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.toLowerCase().endsWith('.xml')).sort();
  } catch (e) {
    throw new PchatError('LEGACY_INPUT_INVALID', `${dir}: cannot be read (${(e as NodeJS.ErrnoException).code})`, {
      field: 'compliance',
    });
  }
  return names.map((n) => ({ path: join(dir, n), sha256: '', start: 0, events: 0 }));
}

async function loadXml(f: XmlFile) {
  const bytes = await readFile(f.path);
  f.sha256 = createHash('sha256').update(bytes).digest('hex');
  const parsed = parseComplianceXml(f.path, bytes.toString('utf8'));
  f.start = parsed.start ?? parsed.events[0]?.ts ?? 0;
  f.events = parsed.events.length;
  return parsed;
}

const IMPORTED: readonly EventType[] = ['CHAT', 'FILEUPLOAD'];

export async function migrateLync(store: Store, files: LyncFiles, opts: LyncOptions = {}): Promise<LyncReport> {
  const now = opts.now ?? Date.now();
  const uuid = opts.uuid ?? randomUUID;
  // ---- read and check every input (nothing is written before all of it is read) -------------------------
  const categories = readCategories(await table(files.categories));
  const rooms = readRooms(await table(files.rooms));
  const addins = files.addins ? readAddins(await table(files.addins)) : [];
  const storeEndpoints = await store.endpoints.list();
  const endpoints = files.endpoints
    ? readEndpoints(await table(files.endpoints), storeEndpoints[0]?.pool ?? 'pchat')
    : [];
  const xmlFiles = files.compliance ? await complianceFiles(files.compliance) : [];
  const knownNames = new Map<string, string>();
  const senders = new Map<string, { internal: boolean; name: string }>();
  const channelIds = new Map<string, string>(); // channel name (lower case) → legacy id
  for (const f of xmlFiles) {
    const parsed = await loadXml(f);
    for (const e of parsed.events) {
      const id = /^ma-chan:\/\/[^/]+\/([^/]+)$/i.exec(e.channelUri)?.[1];
      if (id && e.channelName) channelIds.set(e.channelName.toLowerCase(), id);
      if (!e.sender.uri) continue;
      let uri: string;
      try {
        uri = normalizeSipUri(e.sender.uri);
      } catch {
        continue;
      }
      if (e.sender.userName) knownNames.set(uri, e.sender.userName);
      if (IMPORTED.includes(e.type)) senders.set(uri, { internal: e.sender.internal, name: e.sender.userName });
      else if (!senders.has(uri)) senders.set(uri, { internal: e.sender.internal, name: e.sender.userName });
    }
  }
  xmlFiles.sort((a, b) => a.start - b.start || (a.path < b.path ? -1 : 1));
  for (const r of rooms) if (!r.legacyId) r.legacyId = channelIds.get(r.name.toLowerCase()) ?? null;

  const storeUsers = await store.users.list();
  const groups = await store.groups.list();
  const internalDomains = new Set(
    opts.sipDomains && opts.sipDomains.length > 0
      ? opts.sipDomains.map((d) => d.trim().toLowerCase())
      : [
          ...[...endpoints, ...storeEndpoints].map((e) => sipDomain(e.sipAddress)),
          ...[...senders].filter(([, s]) => s.internal).map(([uri]) => sipDomain(uri)),
        ],
  );
  if (internalDomains.size === 0) for (const u of storeUsers) if (!u.disabled) internalDomains.add(sipDomain(u.uri));
  const existingCats = new Map((await store.categories.list()).map((c) => [c.name, c]));
  const existingRooms = new Map((await store.rooms.list()).map((r) => [r.name, r]));
  const plan: LyncPlan = planLync(
    {
      categories,
      rooms,
      addins,
      endpoints,
      ...(opts.rootCategory !== undefined ? { rootCategory: opts.rootCategory } : {}),
    },
    {
      users: new Map(storeUsers.map((u) => [u.uri, u])),
      groups: new Set(groups.map((g) => g.name)),
      internalDomains,
      knownNames,
    },
    { categoriesByName: existingCats, roomsByName: existingRooms },
    (extra) => new DirectorySnapshot([...storeUsers, ...extra], groups, []),
    { uuid, now },
  );
  // Senders the directory does not know become users too (federated ones disabled).
  const known = new Set([...storeUsers.map((u) => u.uri), ...plan.users.map((u) => u.uri)]);
  for (const [uri, s] of senders) {
    if (known.has(uri)) continue;
    const federated = !s.internal || !internalDomains.has(sipDomain(uri));
    const u: User = {
      uri,
      displayName: s.name || uri.slice(4, uri.indexOf('@')),
      email: null,
      ou: null,
      site: null,
      policy: null,
      isAdmin: false,
      disabled: federated,
      createdAt: now,
    };
    plan.users.push(u);
    if (federated) plan.federated.add(uri);
    plan.notes.push({
      kind: 'user',
      name: uri,
      message: federated
        ? 'federated sender in the compliance archives: created disabled'
        : 'sender in the compliance archives not in the pchat directory: created',
    });
  }
  const report: LyncReport = {
    whatIf: opts.whatIf === true,
    categories: plan.categories.map((c) => c.name),
    rooms: plan.rooms.map((r) => r.name),
    usersCreated: plan.users.map((u) => u.uri),
    federated: [...plan.federated].sort(),
    addins: plan.addins.map((a) => a.name),
    endpoints: plan.endpoints.map((e) => e.sipAddress),
    notes: plan.notes,
    unmapped: plan.unmapped,
    errors: plan.errors,
    content: { files: xmlFiles.length, filesAlreadyImported: 0, messages: {}, notImported: {}, unknownChannels: [] },
  };
  const roomById = new Map(plan.rooms.map((r) => [r.id, r]));
  const catById = new Map(plan.categories.map((c) => [c.id, c]));
  const roomFor = (e: ComplianceEvent) => {
    const id = /^ma-chan:\/\/[^/]+\/([^/]+)$/i.exec(e.channelUri)?.[1];
    const roomId =
      (id ? plan.roomIndex.get(`id:${id.toLowerCase()}`) : undefined) ??
      plan.roomIndex.get(`name:${e.channelName.toLowerCase()}`);
    return roomId ? roomById.get(roomId) : undefined;
  };
  const unknown = new Set<string>();

  // ---- apply ------------------------------------------------------------------------------------------------
  if (!report.whatIf && plan.errors.length > 0) {
    const e = plan.errors[0] as Finding;
    throw new PchatError(
      'IMPORT_REFUSED',
      `${e.file ?? 'input'}${e.line ? `: line ${e.line}` : ''}: ${e.kind} ${e.name}: ${e.message} (run with --what-if --report for the full list)`,
      { field: 'file', details: { errors: plan.errors } },
    );
  }
  if (!report.whatIf) {
    const writes: ((tx: Store) => Promise<unknown>)[] = [
      ...plan.users.map((u) => (tx: Store) => tx.users.put(u)),
      ...plan.addins.map((a) => (tx: Store) => tx.addins.put(a)),
      ...plan.endpoints.map((e) => (tx: Store) => tx.endpoints.put(e)),
      ...plan.categories.map((c) => (tx: Store) => tx.categories.put(c)),
      ...plan.rooms.map((r) => (tx: Store) => tx.rooms.put(r)),
    ];
    for (let i = 0; i < writes.length; i += BATCH) {
      const chunk = writes.slice(i, i + BATCH);
      await store.atomically(async (tx) => {
        for (const w of chunk) await w(tx);
      });
    }
  }
  const seenChat = new Set<string>();
  for (const f of xmlFiles) {
    const key = `lync-xml:${f.sha256}`;
    const progress = report.whatIf ? undefined : await store.archive.getProgress(key);
    if (progress?.state === 'done') {
      report.content.filesAlreadyImported++;
      continue;
    }
    const parsed = await loadXml(f);
    const batch: { index: number; m: NewMessage }[] = [];
    const flush = async (upTo: number, done: boolean) => {
      const msgs = batch
        .splice(0)
        .filter((b) => b.index > (progress?.line ?? 0))
        .map((b) => b.m);
      if (report.whatIf) return;
      await store.atomically(async (tx) => {
        await tx.messages.append(msgs);
        await tx.archive.setProgress(key, { line: upTo, state: done ? 'done' : 'running' });
      });
    };
    for (let i = 0; i < parsed.events.length; i++) {
      const e = parsed.events[i] as ComplianceEvent;
      if (!IMPORTED.includes(e.type)) {
        report.content.notImported[e.type] = (report.content.notImported[e.type] ?? 0) + 1;
        continue;
      }
      const room = roomFor(e);
      if (!room) {
        unknown.add(e.channelName || e.channelUri);
        continue;
      }
      if (e.type === 'CHAT' && e.id !== null) {
        const k = `${room.id}|${e.id}`;
        if (seenChat.has(k)) continue;
        seenChat.add(k);
      }
      const cat = catById.get(room.categoryId);
      let author = e.sender.uri ?? 'sip:unknown@invalid';
      try {
        author = normalizeSipUri(author);
      } catch {
        // kept as written: the message still belongs to the room's history
      }
      batch.push({
        index: i + 1,
        m: {
          roomId: room.id,
          author,
          ts: e.ts,
          kind: 'regular',
          text: e.type === 'FILEUPLOAD' ? `[file] ${e.content}` : e.content,
          title: null,
          rich: null,
          file: null,
          logged: (cat?.chatHistory ?? true) && e.logged,
        },
      });
      report.content.messages[room.name] = (report.content.messages[room.name] ?? 0) + 1;
      if (batch.length >= BATCH) await flush(i + 1, false);
    }
    report.content.notImported.unknown = (report.content.notImported.unknown ?? 0) + parsed.unknown;
    await flush(parsed.events.length, true);
  }
  report.content.unknownChannels = [...unknown].sort();
  if (!report.content.notImported.unknown) delete report.content.notImported.unknown;
  return report;
}
