// MD4, NTLMv2 and the [MS-SIPAE] signature against published test vectors: RFC 1320 (MD4), [MS-NLMP] §4.2.4
// (NTLMv2 with the "User"/"Domain"/"Password" example), and a recorded Office Communicator 2007 R2 ↔ OCS 2007 R2
// sign-in (challenge, AUTHENTICATE, signed REGISTER and its signed 200), as SIPE's test suite keeps it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type SipMessage, SipStreamParser } from '../../src/transports/sip/codec.js';
import { md4, ntHash } from '../../src/transports/sip/md4.js';
import {
  buildChallenge,
  deriveKeys,
  hmacMd5,
  mac,
  NTLM_FLAGS,
  NtlmError,
  ntowfV2,
  parseAuthenticate,
  rc4,
  SERVER_CHALLENGE_FLAGS,
  verifyAuthenticate,
} from '../../src/transports/sip/ntlm.js';
import {
  NTLM_REALM,
  NtlmHandshakes,
  NtlmSecurityAssociation,
  parseAuthValue,
  signatureInput,
} from '../../src/transports/sip/sipae.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const up = (b: Buffer) => b.toString('hex').toUpperCase();

function parseOne(text: string): SipMessage {
  const events = new SipStreamParser().push(Buffer.from(text, 'utf8'));
  const ev = events.find((e) => e.type === 'message');
  assert.ok(ev && ev.type === 'message', 'the vector parses as one SIP message');
  return ev.message;
}

describe('MD4 (RFC 1320 §A.5 test suite)', () => {
  const suite: [string, string][] = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    [
      '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
      'e33b4ddc9c38f2199c3e7b164fcc0536',
    ],
  ];
  for (const [input, digest] of suite) {
    it(`MD4(${JSON.stringify(input.slice(0, 16))}${input.length > 16 ? '…' : ''})`, () => {
      assert.equal(md4(Buffer.from(input, 'latin1')).toString('hex'), digest);
    });
  }
  it('pads across a block boundary (55, 56, 63, 64, 65 bytes differ)', () => {
    const seen = new Set<string>();
    for (const n of [55, 56, 63, 64, 65, 119, 120]) seen.add(md4(Buffer.alloc(n, 0x61)).toString('hex'));
    assert.equal(seen.size, 7);
  });
});

describe('[MS-NLMP] §4.2 primitives', () => {
  it('NTOWFv1 (the NT hash) of "Password"', () => {
    assert.equal(up(ntHash('Password')), 'A4F49C406510BDCAB6824EE7C30FD852');
  });
  it('NTOWFv2("Password", "User", "Domain")', () => {
    assert.equal(up(ntowfV2(ntHash('Password'), 'User', 'Domain')), '0C868A403BFD7A93A3001EF22EF02E3F');
  });
  it('HMAC-MD5 (RFC 2104 case 1) and RC4 (the §4.2.4 encrypted session key)', () => {
    assert.equal(up(hmacMd5(Buffer.alloc(16, 0x0b), Buffer.from('Hi There'))), '9294727A3638BB1C13F48EF8158BFC9D');
    const sessionBaseKey = hex('8DE40CCADBC14A82F15CB0AD0DE95CA3');
    assert.equal(up(rc4(sessionBaseKey, Buffer.alloc(16, 0x55))), 'C5DAD2544FC9799094CE1CE90BC9D03E');
  });
  it('SIGNKEY / SEALKEY (client) of the §4.2.4 random session key', () => {
    const flags = 0xe28a8233;
    const keys = deriveKeys(Buffer.alloc(16, 0x55), flags);
    assert.equal(up(keys.clientSignKey), '4788DC861B4782F35D43FD98FE1A2D39');
    assert.equal(up(keys.clientSealKey), '59F600973CC4960A25480A7C196E4C58');
  });
  it('MAC without key exchange (§4.2.4.4 checksum 7035…; seq 0)', () => {
    const flags = 0xe28a8233 & ~NTLM_FLAGS.KEY_EXCH;
    const keys = deriveKeys(Buffer.alloc(16, 0x55), flags);
    const plaintext = Buffer.from('Plaintext', 'utf16le');
    assert.equal(
      up(mac(flags, keys.clientSignKey, keys.clientSealKey, 0, plaintext)),
      '0100000070352851F256430900000000',
    );
  });

  it('verifies the §4.2.4 NTLMv2 AUTHENTICATE_MESSAGE and recovers the random session key', () => {
    const type3 = hex(
      '4e544c4d5353500003000000180018006c00000054005400840000000c000c00480000000800080054000000100010005c00000010001000d8000000358288e20501280a0000000f44006f006d00610069006e00550073006500720043004f004d005000550054004500520086c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa68cd0ab851e51c96aabc927bebef6a1c01010000000000000000000000000000aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e0001000c005300650072007600650072000000000000000000c5dad2544fc9799094ce1ce90bc9d03e',
    );
    const msg = parseAuthenticate(type3);
    assert.equal(msg.user, 'User');
    assert.equal(msg.domain, 'Domain');
    assert.equal(msg.workstation, 'COMPUTER');
    // The §4.2.4 example is connection-oriented (no DATAGRAM flag): check the proof and keys directly.
    const key = ntowfV2(ntHash('Password'), msg.user, msg.domain);
    const proof = hmacMd5(key, hex('0123456789abcdef'), msg.ntResponse.subarray(16));
    assert.equal(up(proof), '68CD0AB851E51C96AABC927BEBEF6A1C');
    assert.equal(up(hmacMd5(key, proof)), '8DE40CCADBC14A82F15CB0AD0DE95CA3');
    assert.equal(up(rc4(hmacMd5(key, proof), msg.encryptedRandomSessionKey)), '55'.repeat(16));
  });
});

// A real sign-in: Office Communicator 2007 R2 against OCS 2007 R2, password "Pa$$word", user COSMO\User.
const OC_CHALLENGE =
  '4E544C4D53535000020000000000000038000000F38298E2DD1BAAF4E7E218D1000000000000000096009600380000000502CE0E0000000F02000A0043004F0053004D004F000100180043004F0053004D004F002D004F00430053002D00520032000400160063006F0073006D006F002E006C006F00630061006C000300300063006F0073006D006F002D006F00630073002D00720032002E0063006F0073006D006F002E006C006F00630061006C000500160063006F0073006D006F002E006C006F00630061006C0000000000';
const OC_AUTHENTICATE_B64 =
  'TlRMTVNTUAADAAAAGAAYAHIAAADGAMYAigAAAAoACgBIAAAACAAIAFIAAAAYABgAWgAAABAAEABQAQAAVYKYYgUCzg4AAAAPQwBPAFMATQBPAFUAcwBlAHIAQwBPAFMATQBPAC0ATwBDAFMALQBSADIAoeku/k4Hi/fFwASazGFmwtauh1yw/apBjcDIAK527KYG0rn769BHMQEBAAAAAAAAWVGaFye5ygHWrodcsP2qQQAAAAACAAoAQwBPAFMATQBPAAEAGABDAE8AUwBNAE8ALQBPAEMAUwAtAFIAMgAEABYAYwBvAHMAbQBvAC4AbABvAGMAYQBsAAMAMABjAG8AcwBtAG8ALQBvAGMAcwAtAHIAMgAuAGMAbwBzAG0AbwAuAGwAbwBjAGEAbAAFABYAYwBvAHMAbQBvAC4AbABvAGMAYQBsAAAAAAAAAAAAMctznhyoCkmFkeiueXEV5A==';
const OC_TIME = Date.UTC(2010, 2, 1, 10, 8, 8);
const OC_TARGET = 'cosmo-ocs-r2.cosmo.local';
const OC_REQUEST = [
  'REGISTER sip:cosmo.local SIP/2.0',
  'Via: SIP/2.0/TLS 192.168.172.6:12723',
  'Max-Forwards: 70',
  'From: <sip:user@cosmo.local>;tag=3e49177a52;epid=c8ca638a15',
  'To: <sip:user@cosmo.local>',
  'Call-ID: 4037df9284354df39065195bd57a4b14',
  'CSeq: 3 REGISTER',
  'Contact: <sip:192.168.172.6:12723;transport=tls;ms-opaque=fad3dfab32>;methods="INVITE, MESSAGE, INFO, OPTIONS, BYE, CANCEL, NOTIFY, ACK, REFER, BENOTIFY";proxy=replace;+sip.instance="<urn:uuid:34D859DB-6585-5F91-A3B4-DE853C15347D>"',
  'User-Agent: UCCAPI/3.5.6907.0 OC/3.5.6907.0 (Microsoft Office Communicator 2007 R2)',
  'Supported: gruu-10, adhoclist, msrtc-event-categories',
  'Supported: ms-forking',
  'ms-keep-alive: UAC;hop-hop=yes',
  'Event: registration',
  `Proxy-Authorization: NTLM qop="auth", realm="SIP Communications Service", opaque="2BDBAC9D", targetname="${OC_TARGET}", version=4, gssapi-data="${OC_AUTHENTICATE_B64}", crand="13317733", cnum="1", response="0100000029618e9651b65a7764000000"`,
  'Content-Length: 0',
  '',
  '',
].join('\r\n');
const OC_RESPONSE = [
  'SIP/2.0 200 OK',
  'ms-keep-alive: UAS; tcp=no; hop-hop=yes; end-end=no; timeout=300',
  `Authentication-Info: NTLM rspauth="01000000E615438A917661BE64000000", srand="9616454F", snum="1", opaque="2BDBAC9D", qop="auth", targetname="${OC_TARGET}", realm="SIP Communications Service"`,
  'From: "User"<sip:user@cosmo.local>;tag=3e49177a52;epid=c8ca638a15',
  'To: <sip:user@cosmo.local>;tag=5E61CCD925D17E043D9A74835A88F664',
  'Call-ID: 4037df9284354df39065195bd57a4b14',
  'CSeq: 3 REGISTER',
  'Via: SIP/2.0/TLS 192.168.172.6:12723;ms-received-port=12723;ms-received-cid=2600',
  'Expires: 7200',
  'Supported: msrtc-event-categories',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

function ocAssociation(): NtlmSecurityAssociation {
  const challenge = hex(OC_CHALLENGE);
  const msg = parseAuthenticate(Buffer.from(OC_AUTHENTICATE_B64, 'base64'));
  const keys = verifyAuthenticate(msg, {
    ntHash: ntHash('Pa$$word'),
    serverChallenge: challenge.subarray(24, 32),
    now: OC_TIME,
  });
  return new NtlmSecurityAssociation(keys, '2BDBAC9D', OC_TARGET, 4, msg.user, msg.domain);
}

describe('[MS-SIPAE] NTLM sign-in recorded between Communicator 2007 R2 and OCS 2007 R2', () => {
  it('decodes the AUTHENTICATE and verifies its NTLMv2 response against the NT hash', () => {
    const msg = parseAuthenticate(Buffer.from(OC_AUTHENTICATE_B64, 'base64'));
    assert.equal(msg.user, 'User');
    assert.equal(msg.domain, 'COSMO');
    assert.equal(msg.workstation, 'COSMO-OCS-R2');
    assert.equal(up(msg.ntResponse.subarray(0, 16)), '8DC0C800AE76ECA606D2B9FBEBD04731');
    assert.ok(ocAssociation());
  });

  it('refuses the same AUTHENTICATE for a wrong password, another challenge or a stale clock', () => {
    const msg = parseAuthenticate(Buffer.from(OC_AUTHENTICATE_B64, 'base64'));
    const challenge = hex(OC_CHALLENGE).subarray(24, 32);
    const fail = (f: () => unknown, reason: string) =>
      assert.throws(f, (e: unknown) => e instanceof NtlmError && e.reason === reason);
    fail(
      () => verifyAuthenticate(msg, { ntHash: ntHash('Pa$$word!'), serverChallenge: challenge, now: OC_TIME }),
      'wrong-password',
    );
    fail(
      () => verifyAuthenticate(msg, { ntHash: ntHash('Pa$$word'), serverChallenge: Buffer.alloc(8), now: OC_TIME }),
      'wrong-password',
    );
    fail(() => verifyAuthenticate(msg, { ntHash: ntHash('Pa$$word'), serverChallenge: challenge }), 'stale');
  });

  it('builds the breakdown of the signed REGISTER and checks its signature (0100000029618E96…)', () => {
    const req = parseOne(OC_REQUEST);
    assert.equal(
      signatureInput(req, {
        scheme: 'NTLM',
        rand: '13317733',
        num: '1',
        realm: NTLM_REALM,
        targetName: OC_TARGET,
        version: 4,
      }),
      `<NTLM><13317733><1><SIP Communications Service><${OC_TARGET}><4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local><3e49177a52><sip:user@cosmo.local><><><><>`,
    );
    const sa = ocAssociation();
    assert.deepEqual(sa.verify(req), { ok: true });
    // The same cnum again is a replay, even with a valid signature.
    assert.deepEqual(sa.verify(parseOne(OC_REQUEST)), { ok: false, reason: 'replayed' });
  });

  it('a changed signed field, a wrong signature, a missing signature or another opaque is refused', () => {
    const sa = ocAssociation();
    const tampered = parseOne(OC_REQUEST.replace('CSeq: 3 REGISTER', 'CSeq: 4 REGISTER'));
    assert.deepEqual(sa.verify(tampered), { ok: false, reason: 'bad-signature' });
    const wrong = parseOne(OC_REQUEST.replace('0100000029618e9651b65a7764000000', '0100000029618e9651b65a7764000001'));
    assert.deepEqual(sa.verify(wrong), { ok: false, reason: 'bad-signature' });
    const missing = parseOne(OC_REQUEST.replace(/\r\nProxy-Authorization:[^\r]*/, ''));
    assert.deepEqual(sa.verify(missing), { ok: false, reason: 'missing' });
    const other = parseOne(OC_REQUEST.replace('opaque="2BDBAC9D"', 'opaque="DEADBEEF"'));
    assert.deepEqual(sa.verify(other), { ok: false, reason: 'wrong-association' });
    // None of these moved the replay window: the genuine message still passes.
    assert.deepEqual(sa.verify(parseOne(OC_REQUEST)), { ok: true });
  });

  it("computes the server's signature of the 200 (rspauth 01000000E615438A…)", () => {
    const res = parseOne(OC_RESPONSE);
    const input = signatureInput(res, {
      scheme: 'NTLM',
      rand: '9616454F',
      num: '1',
      realm: NTLM_REALM,
      targetName: OC_TARGET,
      version: 4,
    });
    assert.equal(
      input,
      `<NTLM><9616454F><1><SIP Communications Service><${OC_TARGET}><4037df9284354df39065195bd57a4b14><3><REGISTER><sip:user@cosmo.local><3e49177a52><sip:user@cosmo.local><5E61CCD925D17E043D9A74835A88F664><><><7200><200>`,
    );
    assert.equal(ocAssociation().serverSignature(input), '01000000E615438A917661BE64000000');
  });

  it('sign() adds an Authentication-Info whose rspauth matches its own srand/snum', () => {
    const sa = ocAssociation();
    const res = parseOne(OC_RESPONSE);
    res.headers.delete('authentication-info');
    sa.sign(res);
    const info = parseAuthValue(res.headers.get('authentication-info'));
    assert.ok(info);
    assert.equal(info.params.get('snum'), '1');
    const input = signatureInput(res, {
      scheme: 'NTLM',
      rand: info.params.get('srand') as string,
      num: '1',
      realm: NTLM_REALM,
      targetName: OC_TARGET,
      version: 4,
    });
    assert.equal(info.params.get('rspauth'), sa.serverSignature(input));
    sa.sign(res);
    assert.equal(parseAuthValue(res.headers.get('authentication-info'))?.params.get('snum'), '2');
  });

  it('the signature string of a v4 response with P-Asserted-Identity and upper-case header names', () => {
    const res = parseOne(
      [
        'SIP/2.0 180 Ringing',
        'FROM: "Sender"<sip:sender@company.com>;tag=2420628112;epid=54392f1bbf01',
        'TO: "recipient"<sip:recipient@company.com>;tag=7aee15546a;epid=3102EB8BD1',
        'CSEQ: 1 INVITE',
        'CALL-ID: 41CEg82ECa0AC8i3DD7mE673t9CF4b19DAxF780x',
        'CONTENT-LENGTH: 0',
        'P-ASSERTED-IDENTITY: "recipient"<SIP:recipient@company.com>',
        '',
        '',
      ].join('\r\n'),
    );
    assert.equal(
      signatureInput(res, {
        scheme: 'NTLM',
        rand: '1B6D47A1',
        num: '11',
        realm: NTLM_REALM,
        targetName: 'LOC-COMPANYT-FE03.COMPANY.COM',
        version: 4,
      }),
      '<NTLM><1B6D47A1><11><SIP Communications Service><LOC-COMPANYT-FE03.COMPANY.COM><41CEg82ECa0AC8i3DD7mE673t9CF4b19DAxF780x><1><INVITE><sip:sender@company.com><2420628112><sip:recipient@company.com><7aee15546a><SIP:recipient@company.com><><><180>',
    );
  });
});

describe('NtlmHandshakes (server side of connectionless NTLM)', () => {
  const names = {
    netbiosDomain: 'PCHAT',
    netbiosComputer: 'PCHAT',
    dnsDomain: 'example.com',
    dnsComputer: 'pool.example.com',
  };

  it('offers NTLM, answers an empty gssapi-data with a CHALLENGE the client can parse', () => {
    const hs = new NtlmHandshakes({ targetName: 'pool.example.com', names });
    assert.equal(hs.offer(), 'NTLM realm="SIP Communications Service", targetname="pool.example.com", version=4');
    const step = hs.step(
      parseAuthValue(
        `NTLM qop="auth", realm="${NTLM_REALM}", targetname="pool.example.com", gssapi-data="", version=4`,
      ) as never,
    );
    assert.equal(step.kind, 'challenge');
    const v = parseAuthValue(step.kind === 'challenge' ? step.header : '');
    assert.ok(v);
    const challenge = Buffer.from(v.params.get('gssapi-data') as string, 'base64');
    assert.equal(challenge.subarray(0, 8).toString('latin1'), 'NTLMSSP\0');
    assert.equal(challenge.readUInt32LE(8), 2);
    assert.equal(challenge.readUInt32LE(20), SERVER_CHALLENGE_FLAGS);
    assert.match(v.params.get('opaque') as string, /^[0-9A-F]{8}$/);
  });

  it('a NEGOTIATE_MESSAGE in gssapi-data (connection-oriented habit) is answered with a CHALLENGE too', () => {
    const hs = new NtlmHandshakes({ targetName: 't', names });
    const negotiate = Buffer.alloc(32);
    negotiate.write('NTLMSSP\0', 0, 'latin1');
    negotiate.writeUInt32LE(1, 8);
    negotiate.writeUInt32LE(0xe2088297, 12);
    const step = hs.step(parseAuthValue(`NTLM gssapi-data="${negotiate.toString('base64')}", version=3`) as never);
    assert.equal(step.kind, 'challenge');
    assert.match(
      step.kind === 'challenge' ? step.header : '',
      /gssapi-data="TlRMTVNTUAACAAAA[^"]*", targetname="t", realm="SIP Communications Service", version=3$/,
    );
  });

  it('an AUTHENTICATE for an unknown opaque, or garbage, fails without throwing', () => {
    const hs = new NtlmHandshakes({ targetName: 't', names });
    const s1 = hs.step(
      parseAuthValue(`NTLM opaque="00000000", gssapi-data="${OC_AUTHENTICATE_B64}", version=4`) as never,
    );
    assert.deepEqual(s1, { kind: 'failed', reason: 'unknown-opaque' });
    const c = hs.step(parseAuthValue('NTLM gssapi-data="", version=4') as never);
    const opaque = parseAuthValue(c.kind === 'challenge' ? c.header : '')?.params.get('opaque');
    const s2 = hs.step(parseAuthValue(`NTLM opaque="${opaque}", gssapi-data="AAAA", version=4`) as never);
    assert.deepEqual(s2, { kind: 'failed', reason: 'malformed' });
  });

  it('builds a challenge with the requested names (TargetName is the NetBIOS domain)', () => {
    const { message } = buildChallenge({ ...names, serverChallenge: Buffer.alloc(8, 1) });
    const len = message.readUInt16LE(12);
    const off = message.readUInt32LE(16);
    assert.equal(message.subarray(off, off + len).toString('utf16le'), 'PCHAT');
    assert.ok(message.includes(Buffer.from('pool.example.com', 'utf16le')));
  });
});
