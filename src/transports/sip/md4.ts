// MD4 (RFC 1320), needed for the NT hash (MD4 of the UTF-16LE password) that NTLM is keyed on. Node 20's
// default OpenSSL 3 provider has no MD4 (it is in the "legacy" provider), so it is written out here; it is
// never used for anything but NTLM.

const S1 = [3, 7, 11, 19];
const S2 = [3, 5, 9, 13];
const S3 = [3, 9, 11, 15];
const R3 = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15];

function rotl(x: number, n: number): number {
  return (x << n) | (x >>> (32 - n));
}

/** The 16-byte MD4 digest of `data`. */
export function md4(data: Uint8Array): Buffer {
  const bitLen = data.length * 8;
  // Pad: 0x80, zeros to 56 mod 64, then the 64-bit little-endian bit length.
  const padded = Buffer.alloc(((data.length + 8) >>> 6) * 64 + 64);
  padded.set(data, 0);
  padded[data.length] = 0x80;
  padded.writeUInt32LE(bitLen >>> 0, padded.length - 8);
  padded.writeUInt32LE(Math.floor(bitLen / 0x100000000) >>> 0, padded.length - 4);

  let a = 0x67452301;
  let b = 0xefcdab89;
  let c = 0x98badcfe;
  let d = 0x10325476;
  const x = new Array<number>(16);
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) x[i] = padded.readUInt32LE(off + i * 4);
    const aa = a;
    const bb = b;
    const cc = c;
    const dd = d;
    // Round 1: F(x,y,z) = (x & y) | (~x & z)
    for (let i = 0; i < 16; i++) {
      const f = (b & c) | (~b & d);
      const t = rotl((a + f + (x[i] as number)) | 0, S1[i % 4] as number);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    // Round 2: G(x,y,z) = (x & y) | (x & z) | (y & z), constant 0x5A827999
    for (let i = 0; i < 16; i++) {
      const k = (i % 4) * 4 + Math.floor(i / 4);
      const g = (b & c) | (b & d) | (c & d);
      const t = rotl((a + g + (x[k] as number) + 0x5a827999) | 0, S2[i % 4] as number);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    // Round 3: H(x,y,z) = x ^ y ^ z, constant 0x6ED9EBA1
    for (let i = 0; i < 16; i++) {
      const h = b ^ c ^ d;
      const t = rotl((a + h + (x[R3[i] as number] as number) + 0x6ed9eba1) | 0, S3[i % 4] as number);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    a = (a + aa) | 0;
    b = (b + bb) | 0;
    c = (c + cc) | 0;
    d = (d + dd) | 0;
  }
  const out = Buffer.alloc(16);
  out.writeInt32LE(a, 0);
  out.writeInt32LE(b, 4);
  out.writeInt32LE(c, 8);
  out.writeInt32LE(d, 12);
  return out;
}

/** The NT hash (NTOWFv1): MD4 of the password in UTF-16LE. */
export function ntHash(password: string): Buffer {
  return md4(Buffer.from(password, 'utf16le'));
}
