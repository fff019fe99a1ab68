// [MS-NLMP] NTLM, server side, connectionless (datagram) mode as [MS-SIPAE] uses it on SIP: build the
// CHALLENGE_MESSAGE, decode an AUTHENTICATE_MESSAGE (every length and offset checked), verify the NTLMv2
// response against a stored NT hash, derive the session keys and compute / check message signatures (MAC).
// NTLMv1 is refused. Extended session security, 128-bit keys and key exchange are required, as the Lync-era
// clients and SIPE send them. RC4 is written out because Node 20's default OpenSSL 3 provider lacks it.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const NTLM_FLAGS = {
  UNICODE: 0x00000001,
  OEM: 0x00000002,
  REQUEST_TARGET: 0x00000004,
  SIGN: 0x00000010,
  SEAL: 0x00000020,
  DATAGRAM: 0x00000040,
  LM_KEY: 0x00000080,
  NTLM: 0x00000200,
  ANONYMOUS: 0x00000800,
  ALWAYS_SIGN: 0x00008000,
  TARGET_TYPE_DOMAIN: 0x00010000,
  TARGET_TYPE_SERVER: 0x00020000,
  EXTENDED_SESSIONSECURITY: 0x00080000,
  IDENTIFY: 0x00100000,
  TARGET_INFO: 0x00800000,
  VERSION: 0x02000000,
  NEGOTIATE_128: 0x20000000,
  KEY_EXCH: 0x40000000,
  NEGOTIATE_56: 0x80000000,
} as const;

const F = NTLM_FLAGS;

/** What the server offers in its CHALLENGE: connectionless signing with NTLMv2 session security. */
export const SERVER_CHALLENGE_FLAGS =
  (F.UNICODE |
    F.REQUEST_TARGET |
    F.SIGN |
    F.DATAGRAM |
    F.NTLM |
    F.ALWAYS_SIGN |
    F.TARGET_TYPE_DOMAIN |
    F.EXTENDED_SESSIONSECURITY |
    F.IDENTIFY |
    F.TARGET_INFO |
    F.VERSION |
    F.NEGOTIATE_128 |
    F.KEY_EXCH |
    F.NEGOTIATE_56) >>>
  0;

/** Flags an AUTHENTICATE must carry for the signing scheme this server implements. */
const REQUIRED_CLIENT_FLAGS = (F.UNICODE | F.SIGN | F.EXTENDED_SESSIONSECURITY | F.KEY_EXCH | F.DATAGRAM) >>> 0;

export type NtlmFailure =
  | 'malformed' // not an NTLMSSP message of the expected type, or a field outside the message
  | 'unsupported' // NTLMv1, no Unicode, no key exchange / extended session security / datagram signing
  | 'anonymous'
  | 'stale' // the NTLMv2 timestamp is too far from the server's clock
  | 'wrong-password';

export class NtlmError extends Error {
  constructor(
    readonly reason: NtlmFailure,
    message: string,
  ) {
    super(message);
    this.name = 'NtlmError';
  }
}

const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');
const MAX_MESSAGE = 4096;

// ---------------------------------------------------------------------------------------------
// Primitives

/** RC4 keystream XOR (one-shot: a fresh key schedule per call, as connectionless NTLM uses it). */
export function rc4(key: Uint8Array, data: Uint8Array): Buffer {
  const s = new Uint8Array(256);
  for (let i = 0; i < 256; i++) s[i] = i;
  let j = 0;
  for (let i = 0; i < 256; i++) {
    j = (j + (s[i] as number) + (key[i % key.length] as number)) & 0xff;
    const t = s[i] as number;
    s[i] = s[j] as number;
    s[j] = t;
  }
  const out = Buffer.alloc(data.length);
  let i = 0;
  j = 0;
  for (let n = 0; n < data.length; n++) {
    i = (i + 1) & 0xff;
    j = (j + (s[i] as number)) & 0xff;
    const t = s[i] as number;
    s[i] = s[j] as number;
    s[j] = t;
    out[n] = (data[n] as number) ^ (s[((s[i] as number) + (s[j] as number)) & 0xff] as number);
  }
  return out;
}

export function hmacMd5(key: Uint8Array, ...data: Uint8Array[]): Buffer {
  const h = createHmac('md5', key);
  for (const d of data) h.update(d);
  return h.digest();
}

function md5(...data: Uint8Array[]): Buffer {
  const h = createHash('md5');
  for (const d of data) h.update(d);
  return h.digest();
}

function utf16(s: string): Buffer {
  return Buffer.from(s, 'utf16le');
}

/** NTOWFv2 from the NT hash: HMAC_MD5(NT hash, UNICODE(Uppercase(User) + UserDom)). */
export function ntowfV2(ntHash: Uint8Array, user: string, domain: string): Buffer {
  return hmacMd5(ntHash, utf16(user.toUpperCase() + domain));
}

// ---------------------------------------------------------------------------------------------
// CHALLENGE_MESSAGE

export const AV = {
  EOL: 0,
  NB_COMPUTER_NAME: 1,
  NB_DOMAIN_NAME: 2,
  DNS_COMPUTER_NAME: 3,
  DNS_DOMAIN_NAME: 4,
  TIMESTAMP: 7,
} as const;

export interface ChallengeOptions {
  /** 8 random bytes; generated when omitted. */
  serverChallenge?: Buffer;
  /** NetBIOS-style domain name (TargetName and MsvAvNbDomainName), e.g. `PCHAT`. */
  netbiosDomain: string;
  /** NetBIOS-style computer name, e.g. `PCHAT`. */
  netbiosComputer: string;
  /** DNS domain and computer names, e.g. `contoso.com` / `pchat.contoso.com`. */
  dnsDomain: string;
  dnsComputer: string;
  flags?: number;
}

export interface Challenge {
  message: Buffer;
  serverChallenge: Buffer;
  flags: number;
}

function avPair(id: number, value: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16LE(id, 0);
  head.writeUInt16LE(value.length, 2);
  return Buffer.concat([head, value]);
}

/** Builds a CHALLENGE_MESSAGE (type 2) for connectionless NTLM. */
export function buildChallenge(opts: ChallengeOptions): Challenge {
  const serverChallenge = opts.serverChallenge ?? randomBytes(8);
  if (serverChallenge.length !== 8) throw new RangeError('server challenge must be 8 bytes');
  const flags = (opts.flags ?? SERVER_CHALLENGE_FLAGS) >>> 0;
  const targetName = utf16(opts.netbiosDomain.toUpperCase());
  const targetInfo = Buffer.concat([
    avPair(AV.NB_DOMAIN_NAME, utf16(opts.netbiosDomain.toUpperCase())),
    avPair(AV.NB_COMPUTER_NAME, utf16(opts.netbiosComputer.toUpperCase())),
    avPair(AV.DNS_DOMAIN_NAME, utf16(opts.dnsDomain)),
    avPair(AV.DNS_COMPUTER_NAME, utf16(opts.dnsComputer)),
    avPair(AV.EOL, Buffer.alloc(0)),
  ]);
  const header = Buffer.alloc(56);
  SIGNATURE.copy(header, 0);
  header.writeUInt32LE(2, 8);
  header.writeUInt16LE(targetName.length, 12);
  header.writeUInt16LE(targetName.length, 14);
  header.writeUInt32LE(56, 16);
  header.writeUInt32LE(flags, 20);
  serverChallenge.copy(header, 24);
  // 32..39 reserved (zero)
  header.writeUInt16LE(targetInfo.length, 40);
  header.writeUInt16LE(targetInfo.length, 42);
  header.writeUInt32LE(56 + targetName.length, 44);
  // Version: 6.1.7601, NTLMSSP_REVISION_W2K3
  header[48] = 6;
  header[49] = 1;
  header.writeUInt16LE(7601, 50);
  header[55] = 0x0f;
  return { message: Buffer.concat([header, targetName, targetInfo]), serverChallenge, flags };
}

// ---------------------------------------------------------------------------------------------
// AUTHENTICATE_MESSAGE

export interface AuthenticateMessage {
  flags: number;
  lmResponse: Buffer;
  ntResponse: Buffer;
  domain: string;
  user: string;
  workstation: string;
  encryptedRandomSessionKey: Buffer;
}

function field(buf: Buffer, at: number, name: string): Buffer {
  const len = buf.readUInt16LE(at);
  const offset = buf.readUInt32LE(at + 4);
  if (len === 0) return Buffer.alloc(0);
  if (offset > buf.length || len > buf.length - offset) {
    throw new NtlmError('malformed', `${name} lies outside the message`);
  }
  return buf.subarray(offset, offset + len);
}

function text(b: Buffer, unicode: boolean, name: string): string {
  if (!unicode) return b.toString('latin1');
  if (b.length % 2 !== 0) throw new NtlmError('malformed', `${name} is not UTF-16`);
  return b.toString('utf16le');
}

/** Decodes an AUTHENTICATE_MESSAGE (type 3). Throws NtlmError('malformed' | 'unsupported') on bad input. */
export function parseAuthenticate(buf: Buffer): AuthenticateMessage {
  if (buf.length < 64 || buf.length > MAX_MESSAGE) throw new NtlmError('malformed', 'bad AUTHENTICATE length');
  if (!buf.subarray(0, 8).equals(SIGNATURE)) throw new NtlmError('malformed', 'no NTLMSSP signature');
  if (buf.readUInt32LE(8) !== 3) throw new NtlmError('malformed', 'not an AUTHENTICATE message');
  const flags = buf.readUInt32LE(60);
  const unicode = (flags & F.UNICODE) !== 0;
  return {
    flags,
    lmResponse: field(buf, 12, 'LmChallengeResponse'),
    ntResponse: field(buf, 20, 'NtChallengeResponse'),
    domain: text(field(buf, 28, 'DomainName'), unicode, 'DomainName'),
    user: text(field(buf, 36, 'UserName'), unicode, 'UserName'),
    workstation: text(field(buf, 44, 'Workstation'), unicode, 'Workstation'),
    encryptedRandomSessionKey: field(buf, 52, 'EncryptedRandomSessionKey'),
  };
}

/** Windows FILETIME (100 ns since 1601) → ms since 1970. */
function filetimeToMs(ft: bigint): number {
  return Number((ft - 116444736000000000n) / 10000n);
}

export interface SessionKeys {
  /** ExportedSessionKey (the random session key the client chose, decrypted). */
  exportedSessionKey: Buffer;
  clientSignKey: Buffer;
  serverSignKey: Buffer;
  clientSealKey: Buffer;
  serverSealKey: Buffer;
  /** The negotiated flags (those of the AUTHENTICATE message). */
  flags: number;
}

export interface VerifyOptions {
  /** The 16-byte NT hash (MD4 of the UTF-16LE password) of the user the message names. */
  ntHash: Uint8Array;
  serverChallenge: Uint8Array;
  /** For the NTLMv2 timestamp check. */
  now?: number;
  /** Largest accepted difference between the client's timestamp and `now`. Default 36 hours ([MS-NLMP] MaxLifetime). */
  maxSkewMs?: number;
}

/** Checks the flags an AUTHENTICATE must carry; throws NtlmError('unsupported' | 'anonymous'). */
export function checkAuthenticateFlags(msg: AuthenticateMessage): void {
  if ((msg.flags & F.ANONYMOUS) !== 0 || msg.user === '') throw new NtlmError('anonymous', 'anonymous NTLM');
  if ((msg.flags & REQUIRED_CLIENT_FLAGS) !== REQUIRED_CLIENT_FLAGS) {
    throw new NtlmError('unsupported', 'NTLM without Unicode, signing, key exchange or extended session security');
  }
  if (msg.ntResponse.length <= 24) throw new NtlmError('unsupported', 'NTLMv1 is not accepted');
  if (msg.encryptedRandomSessionKey.length !== 16) throw new NtlmError('malformed', 'no encrypted session key');
}

/**
 * Verifies the NTLMv2 response of `msg` and derives the session keys. Throws NtlmError('wrong-password')
 * when the proof does not match, ('stale') when the client's timestamp is too far off.
 */
export function verifyAuthenticate(msg: AuthenticateMessage, opts: VerifyOptions): SessionKeys {
  checkAuthenticateFlags(msg);
  if (opts.ntHash.length !== 16) throw new RangeError('NT hash must be 16 bytes');
  const key = ntowfV2(opts.ntHash, msg.user, msg.domain);
  const proof = msg.ntResponse.subarray(0, 16);
  const blob = msg.ntResponse.subarray(16);
  // NTLMv2_CLIENT_CHALLENGE: RespType 1, HiRespType 1, 6 reserved, 8 timestamp, 8 challenge, 4 reserved, AV pairs.
  if (blob.length < 28 || blob[0] !== 1 || blob[1] !== 1) throw new NtlmError('malformed', 'bad NTLMv2 blob');
  const expected = hmacMd5(key, opts.serverChallenge, blob);
  if (!timingSafeEqual(expected, proof)) throw new NtlmError('wrong-password', 'NTLMv2 proof mismatch');
  const stamp = filetimeToMs(blob.readBigUInt64LE(8));
  const now = opts.now ?? Date.now();
  if (Math.abs(now - stamp) > (opts.maxSkewMs ?? 36 * 3600 * 1000)) {
    throw new NtlmError('stale', 'NTLMv2 timestamp outside the allowed clock skew');
  }
  const sessionBaseKey = hmacMd5(key, proof);
  // NTLMv2: KeyExchangeKey = SessionBaseKey; with KEY_EXCH the client's random key comes RC4-encrypted under it.
  const exportedSessionKey = rc4(sessionBaseKey, msg.encryptedRandomSessionKey);
  return { ...deriveKeys(exportedSessionKey, msg.flags), exportedSessionKey };
}

const CLIENT_SIGN = 'session key to client-to-server signing key magic constant\0';
const SERVER_SIGN = 'session key to server-to-client signing key magic constant\0';
const CLIENT_SEAL = 'session key to client-to-server sealing key magic constant\0';
const SERVER_SEAL = 'session key to server-to-client sealing key magic constant\0';

/** SIGNKEY / SEALKEY for extended session security. */
export function deriveKeys(exportedSessionKey: Buffer, flags: number): Omit<SessionKeys, 'exportedSessionKey'> {
  const sealLen = flags & F.NEGOTIATE_128 ? 16 : flags & F.NEGOTIATE_56 ? 7 : 5;
  const sealBase = exportedSessionKey.subarray(0, sealLen);
  return {
    clientSignKey: md5(exportedSessionKey, Buffer.from(CLIENT_SIGN, 'latin1')),
    serverSignKey: md5(exportedSessionKey, Buffer.from(SERVER_SIGN, 'latin1')),
    clientSealKey: md5(sealBase, Buffer.from(CLIENT_SEAL, 'latin1')),
    serverSealKey: md5(sealBase, Buffer.from(SERVER_SEAL, 'latin1')),
    flags,
  };
}

/**
 * NTLMSSP_MESSAGE_SIGNATURE with extended session security: version 1, the first 8 bytes of
 * HMAC_MD5(SignKey, SeqNum ‖ message) (RC4-encrypted under the sealing key when keys were exchanged; in
 * datagram mode the RC4 key is MD5(SealKey ‖ SeqNum), fresh for every message), and the sequence number.
 */
export function mac(flags: number, signKey: Buffer, sealKey: Buffer, seqNum: number, message: Buffer): Buffer {
  if ((flags & F.EXTENDED_SESSIONSECURITY) === 0) throw new NtlmError('unsupported', 'signing needs ESS');
  const seq = Buffer.alloc(4);
  seq.writeUInt32LE(seqNum >>> 0, 0);
  let checksum = hmacMd5(signKey, seq, message).subarray(0, 8);
  if (flags & F.KEY_EXCH) {
    const rc4Key = flags & F.DATAGRAM ? md5(sealKey, seq) : sealKey;
    checksum = rc4(rc4Key, checksum);
  }
  const out = Buffer.alloc(16);
  out.writeUInt32LE(1, 0);
  checksum.copy(out, 4);
  seq.copy(out, 12);
  return out;
}
