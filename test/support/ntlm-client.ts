// The client half of connectionless NTLM as SIPE does it (sip-sec-ntlm.c): answer a CHALLENGE_MESSAGE with an
// NTLMv2 AUTHENTICATE_MESSAGE and derive the same session keys, so a test client can sign its SIP messages and
// check the server's. Built on the server's primitives, which test/unit/sip-ntlm.test.ts checks against
// published vectors; the interop suite checks the whole against the real SIPE.
import { randomBytes } from 'node:crypto';
import { ntHash } from '../../src/transports/sip/md4.js';
import { deriveKeys, hmacMd5, NTLM_FLAGS, ntowfV2, rc4, type SessionKeys } from '../../src/transports/sip/ntlm.js';

/** The flags SIPE keeps from the server's for connectionless NTLM (NEGOTIATE_FLAGS_CONNLESS). */
const CONNLESS =
  NTLM_FLAGS.UNICODE |
  NTLM_FLAGS.NTLM |
  NTLM_FLAGS.ALWAYS_SIGN |
  NTLM_FLAGS.EXTENDED_SESSIONSECURITY |
  NTLM_FLAGS.TARGET_INFO |
  NTLM_FLAGS.VERSION |
  NTLM_FLAGS.NEGOTIATE_128 |
  NTLM_FLAGS.NEGOTIATE_56 |
  NTLM_FLAGS.REQUEST_TARGET |
  NTLM_FLAGS.SIGN |
  NTLM_FLAGS.DATAGRAM |
  NTLM_FLAGS.IDENTIFY |
  NTLM_FLAGS.KEY_EXCH;

export interface NtlmAnswer {
  authenticate: Buffer;
  keys: SessionKeys;
}

function fieldHeader(buf: Buffer, at: number, len: number, offset: number): void {
  buf.writeUInt16LE(len, at);
  buf.writeUInt16LE(len, at + 2);
  buf.writeUInt32LE(offset, at + 4);
}

export function answerChallenge(
  challenge: Buffer,
  creds: { user: string; domain: string; password: string; workstation?: string; now?: number },
): NtlmAnswer {
  const serverFlags = challenge.readUInt32LE(20);
  const serverChallenge = challenge.subarray(24, 32);
  const tiLen = challenge.readUInt16LE(40);
  const tiOff = challenge.readUInt32LE(44);
  const targetInfo = challenge.subarray(tiOff, tiOff + tiLen);
  let flags = ((serverFlags & CONNLESS) | NTLM_FLAGS.REQUEST_TARGET) >>> 0;
  if (flags & NTLM_FLAGS.NEGOTIATE_128) flags = (flags & ~NTLM_FLAGS.NEGOTIATE_56) >>> 0;
  const key = ntowfV2(ntHash(creds.password), creds.user, creds.domain);
  const time = Buffer.alloc(8);
  time.writeBigUInt64LE(BigInt(creds.now ?? Date.now()) * 10000n + 116444736000000000n);
  const clientChallenge = randomBytes(8);
  const blob = Buffer.concat([
    Buffer.from([1, 1, 0, 0, 0, 0, 0, 0]),
    time,
    clientChallenge,
    Buffer.alloc(4),
    targetInfo,
    Buffer.alloc(4),
  ]);
  const proof = hmacMd5(key, serverChallenge, blob);
  const ntResponse = Buffer.concat([proof, blob]);
  const lmResponse = Buffer.concat([hmacMd5(key, serverChallenge, clientChallenge), clientChallenge]);
  const sessionBaseKey = hmacMd5(key, proof);
  const exported = randomBytes(16);
  const encrypted = rc4(sessionBaseKey, exported);
  const domain = Buffer.from(creds.domain, 'utf16le');
  const user = Buffer.from(creds.user, 'utf16le');
  const host = Buffer.from(creds.workstation ?? 'TESTHOST', 'utf16le');
  const head = Buffer.alloc(72);
  head.write('NTLMSSP\0', 0, 'latin1');
  head.writeUInt32LE(3, 8);
  let off = 72;
  const parts: Buffer[] = [];
  const put = (at: number, b: Buffer) => {
    fieldHeader(head, at, b.length, off);
    parts.push(b);
    off += b.length;
  };
  put(28, domain);
  put(36, user);
  put(44, host);
  put(12, lmResponse);
  put(20, ntResponse);
  put(52, encrypted);
  head.writeUInt32LE(flags, 60);
  head[64] = 5;
  head[65] = 1;
  head.writeUInt16LE(2600, 66);
  head[71] = 0x0f;
  return {
    authenticate: Buffer.concat([head, ...parts]),
    keys: { ...deriveKeys(exported, flags), exportedSessionKey: exported },
  };
}
