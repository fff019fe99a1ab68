// Seeded fuzzing of what a client controls in an NTLM sign-in: the Authorization value (parseAuthValue), the
// gssapi-data AUTHENTICATE_MESSAGE (parseAuthenticate / the handshake step), and signed messages
// (NtlmSecurityAssociation.verify). Every input must end in a typed result; nothing may throw anything else,
// and no mutated message may verify.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRequest } from '../../src/transports/sip/codec.js';
import { ntHash } from '../../src/transports/sip/md4.js';
import { NtlmError, parseAuthenticate, verifyAuthenticate } from '../../src/transports/sip/ntlm.js';
import { NtlmHandshakes, parseAuthValue } from '../../src/transports/sip/sipae.js';
import { answerChallenge } from '../support/ntlm-client.js';

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
type Rand = ReturnType<typeof prng>;
const int = (r: Rand, n: number) => Math.floor(r() * n);

const NAMES = {
  netbiosDomain: 'CONTOSO',
  netbiosComputer: 'POOL',
  dnsDomain: 'contoso.com',
  dnsComputer: 'pool.contoso.com',
};

/** A genuine handshake: the challenge the server issued and a matching AUTHENTICATE from the test client. */
function genuine(seed: number) {
  const hs = new NtlmHandshakes({ targetName: 'pool.contoso.com', names: NAMES });
  const step = hs.step(parseAuthValue('NTLM gssapi-data="", version=4') as never);
  assert.equal(step.kind, 'challenge');
  const challengeHeader = parseAuthValue(step.kind === 'challenge' ? step.header : '');
  const challenge = Buffer.from(challengeHeader?.params.get('gssapi-data') as string, 'base64');
  const opaque = challengeHeader?.params.get('opaque') as string;
  const answer = answerChallenge(challenge, { user: 'alice@contoso.com', domain: '', password: 'pw-' + seed });
  return { hs, challenge, opaque, answer };
}

function mutate(r: Rand, input: Buffer): Buffer {
  const b = Buffer.from(input);
  const kind = int(r, 5);
  if (kind === 0) {
    // flip bytes
    for (let n = 1 + int(r, 4); n > 0; n--) b[int(r, b.length)] = int(r, 256);
    return b;
  }
  if (kind === 1) return b.subarray(0, int(r, b.length)); // truncate
  if (kind === 2) {
    // an offset or length field of the header pointed anywhere
    const at = 12 + 8 * int(r, 6) + (r() < 0.5 ? 0 : 4);
    if (at + 4 <= b.length) b.writeUInt32LE((r() < 0.5 ? int(r, 0x10000) : 0xffffffff - int(r, 16)) >>> 0, at);
    return b;
  }
  if (kind === 3) return Buffer.concat([b, Buffer.alloc(int(r, 64), int(r, 256))]); // trailing junk
  return Buffer.from(Array.from({ length: int(r, 200) }, () => int(r, 256))); // noise
}

describe('NTLM decoder fuzz (seeded)', () => {
  it('parseAuthenticate: mutated AUTHENTICATE messages end in a result or an NtlmError, and never verify', () => {
    const { challenge, answer } = genuine(1);
    const serverChallenge = challenge.subarray(24, 32);
    // the genuine message verifies with the right hash
    verifyAuthenticate(parseAuthenticate(answer.authenticate), { ntHash: ntHash('pw-1'), serverChallenge });
    const r = prng(20261201);
    const genuineMsg = parseAuthenticate(answer.authenticate);
    let verified = 0;
    for (let i = 0; i < 4000; i++) {
      const input = mutate(r, answer.authenticate);
      if (input.equals(answer.authenticate)) continue;
      try {
        const msg = parseAuthenticate(input);
        assert.equal(typeof msg.user, 'string');
        verifyAuthenticate(msg, { ntHash: ntHash('pw-1'), serverChallenge });
        // It verified: then what NTLMv2 binds is unchanged (the user name only up to case, as NTOWFv2 upper-cases
        // it); trailing bytes, the workstation, the version and the LM response are not bound.
        verified++;
        assert.equal(msg.user.toUpperCase(), genuineMsg.user.toUpperCase());
        assert.equal(msg.domain, genuineMsg.domain);
        assert.ok(msg.ntResponse.equals(genuineMsg.ntResponse));
      } catch (e) {
        if (!(e instanceof NtlmError)) throw e;
      }
    }
    assert.ok(verified > 0 && verified < 2000, `mutations that verified: ${verified}`);
  });

  it('the handshake step: random gssapi-data and opaque values fail without throwing', () => {
    const r = prng(7);
    const { hs, opaque, answer } = genuine(2);
    for (let i = 0; i < 2000; i++) {
      const data =
        r() < 0.5
          ? mutate(r, answer.authenticate).toString('base64')
          : String.fromCharCode(...Array.from({ length: int(r, 40) }, () => 32 + int(r, 95)));
      const op = r() < 0.7 ? opaque : Math.floor(r() * 1e9).toString(16);
      const value = `NTLM qop="auth", opaque="${op}", gssapi-data="${data.replace(/"/g, '')}", version=4`;
      const auth = parseAuthValue(value);
      if (!auth) continue;
      const step = hs.step(auth);
      assert.ok(['challenge', 'authenticate', 'failed'].includes(step.kind));
      if (step.kind === 'authenticate') {
        // a fresh challenge for the next round (an answered challenge cannot be used twice)
        const again = hs.step(auth);
        assert.ok(again.kind === 'failed');
        break;
      }
    }
  });

  it('parseAuthValue: arbitrary header text parses or is undefined, never throws', () => {
    const r = prng(99);
    const alphabet = 'NTLM Digest qop="auth",=realm opaque gssapi-data"\\ \t,;=abcXYZ019+/';
    for (let i = 0; i < 5000; i++) {
      const s = Array.from({ length: int(r, 80) }, () => alphabet[int(r, alphabet.length)]).join('');
      const v = parseAuthValue(s);
      if (v) assert.equal(typeof v.scheme, 'string');
    }
    assert.equal(parseAuthValue('x'.repeat(20_000)), undefined);
  });

  it('signed messages: every single-field change or signature bit flip is refused', () => {
    const { hs, challenge, opaque, answer } = genuine(3);
    void challenge;
    const step = hs.step(
      parseAuthValue(
        `NTLM opaque="${opaque}", gssapi-data="${answer.authenticate.toString('base64')}", version=4`,
      ) as never,
    );
    assert.equal(step.kind, 'authenticate');
    const done = hs.complete(step as never, ntHash('pw-3'));
    assert.ok(done.ok);
    const sa = done.association;
    const r = prng(3);
    const fields = ['Call-ID', 'CSeq', 'From', 'To', 'Expires'];
    for (let cnum = 1; cnum <= 300; cnum++) {
      const req = createRequest('INFO', 'sip:pool@contoso.com', [
        ['From', `<sip:alice@contoso.com>;tag=${cnum}`],
        ['To', '<sip:pool@contoso.com>;tag=abc'],
        ['Call-ID', `call-${cnum}`],
        ['CSeq', `${cnum} INFO`],
        ['Expires', '60'],
      ]);
      // sign as the client would, then break one thing
      const crand = (cnum * 2654435761).toString(16).slice(-8).padStart(8, '0');
      const input = (sa as unknown as { clientSignature(s: string): string }).clientSignature(
        `<NTLM><${crand}><${cnum}><SIP Communications Service><pool.contoso.com><call-${cnum}><${cnum}><INFO><sip:alice@contoso.com><${cnum}><sip:pool@contoso.com><abc><><><60>`,
      );
      let response = input;
      const what = int(r, 2);
      if (what === 0) {
        // a signed field changed (for CSeq the signed part is the number; the method is the request's)
        const f = fields[int(r, fields.length)] as string;
        req.headers.set(f, f === 'CSeq' ? `${cnum + 1} INFO` : `${req.headers.get(f)}x`);
      } else {
        const pos = int(r, 32);
        const nibble = (Number.parseInt(response[pos] as string, 16) ^ (1 + int(r, 15))).toString(16).toUpperCase();
        response = response.slice(0, pos) + nibble + response.slice(pos + 1);
      }
      req.headers.set(
        'Authorization',
        `NTLM qop="auth", opaque="${opaque}", realm="SIP Communications Service", targetname="pool.contoso.com", crand="${crand}", cnum="${cnum}", response="${response}"`,
      );
      assert.deepEqual(sa.verify(req), { ok: false, reason: 'bad-signature' }, `cnum ${cnum}`);
    }
  });
});
