// ЭЦП signer: signs a payload with a PKCS#12 (.p12) key file, in the browser.
//
// The .p12 file and its password never leave the device: the file is parsed here (a small
// DER reader), its key decrypted with WebCrypto, and a CMS SignedData (RFC 5652, DER) built
// around the payload. Runs in a secure context of a browser (crypto.subtle) and in Node 20
// (globalThis.crypto.subtle), where it is unit-tested.
//
// Supported .p12 shapes:
//  - integrity: HMAC macData with SHA-1/256/384/512 (RFC 7292 KDF), or no macData;
//  - encryption: PBES2 (PBKDF2 with hmacWithSHA1/256/384/512, AES-128/192/256-CBC,
//    DES-EDE3-CBC, DES-CBC) and the legacy PKCS#12 PBEs pbeWithSHAAnd3-KeyTripleDES-CBC,
//    …2-KeyTripleDES-CBC, …128BitRC2-CBC and …40BitRC2-CBC (older NCA keys), the last ones
//    with the small pure-JS DES/RC2 decryptors below (WebCrypto has neither);
//  - keys: RSA (signs RSASSA-PKCS1-v1_5 with SHA-256) and ECDSA P-256 (with SHA-256).
// Not supported (SignerError 'unsupported'): GOST keys, RC4 PBEs, public-key privacy or
// integrity modes (envelopedData / signedData authSafe), PBMAC1.
(function (root) {
  'use strict';

  // ---------------------------------------------------------------- errors

  /** An error with a machine-readable `.code`: wrong_password, malformed, unsupported, no_key. */
  class SignerError extends Error {
    constructor(code, message) {
      super(message || code);
      this.name = 'SignerError';
      this.code = code;
    }
  }
  const fail = (code, message) => { throw new SignerError(code, message); };
  const malformed = (what) => fail('malformed', 'Not a valid PKCS#12 file' + (what ? ': ' + what : ''));

  // ---------------------------------------------------------------- bytes

  function concat(parts) {
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }
  function equal(a, b) {
    if (!a || !b || a.length !== b.length) return false;
    let d = 0;
    for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
    return d === 0;
  }
  function toBytes(x, what) {
    if (x instanceof Uint8Array) return x;
    if (x instanceof ArrayBuffer) return new Uint8Array(x);
    if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
    if (typeof x === 'string' && what === 'payload') return new TextEncoder().encode(x);
    throw new TypeError(what + ' must be a Uint8Array');
  }
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  const fromHex = (s) => Uint8Array.from(s.match(/../g), (h) => parseInt(h, 16));
  function base64(bytes) {
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }
  const base64url = (b) => base64(b).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  // Unsigned big-endian integer bytes without leading zeros (at least one byte).
  function stripZeros(b) {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    return b.subarray(i);
  }
  // The password as a PKCS#12 BMPString: UTF-16BE plus a 0x0000 terminator ("" → 00 00).
  function bmpPassword(password) {
    const out = new Uint8Array(password.length * 2 + 2);
    for (let i = 0; i < password.length; i++) {
      out[2 * i] = password.charCodeAt(i) >> 8;
      out[2 * i + 1] = password.charCodeAt(i) & 0xff;
    }
    return out;
  }

  function subtle() {
    const c = root.crypto || (typeof globalThis !== 'undefined' && globalThis.crypto);
    if (!c || !c.subtle) fail('unsupported', 'WebCrypto is not available (a secure context is required)');
    return c.subtle;
  }
  const digest = async (hash, data) => new Uint8Array(await subtle().digest(hash, data));

  // ---------------------------------------------------------------- DER reader
  // A node is {buf, tag, start, cs, ce, end}: the element is buf[start, end), its content
  // buf[cs, ce). BER indefinite lengths and constructed strings (some .p12 writers use
  // them) are accepted; tags are single-byte (no ASN.1 structure used here needs more).

  function parseAt(buf, pos, end) {
    if (pos + 2 > end) malformed('truncated');
    const tag = buf[pos];
    if ((tag & 0x1f) === 0x1f) malformed('high tag number');
    let p = pos + 1;
    let len = buf[p++];
    const node = { buf, tag, start: pos, cs: 0, ce: 0, end: 0 };
    if (len === 0x80) {
      if (!(tag & 0x20)) malformed('indefinite primitive');
      let q = p;
      while (!(q + 2 <= end && buf[q] === 0 && buf[q + 1] === 0)) q = parseAt(buf, q, end).end;
      Object.assign(node, { cs: p, ce: q, end: q + 2 });
      return node;
    }
    if (len > 0x80) {
      const n = len & 0x7f;
      if (n > 4 || p + n > end) malformed('bad length');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[p++];
    }
    if (p + len > end) malformed('truncated');
    return Object.assign(node, { cs: p, ce: p + len, end: p + len });
  }
  const parse = (bytes) => parseAt(bytes, 0, bytes.length);
  const content = (n) => n.buf.subarray(n.cs, n.ce);
  const raw = (n) => n.buf.subarray(n.start, n.end);
  function want(n, tag) {
    if (!n || n.tag !== tag) malformed('expected tag 0x' + tag.toString(16));
    return n;
  }
  /** The elements inside a constructed node (optionally checking its tag). */
  function kids(n, tag) {
    if (tag !== undefined) want(n, tag);
    if (!n || !(n.tag & 0x20)) malformed('expected a constructed element');
    const out = [];
    for (let p = n.cs; p < n.ce;) {
      const k = parseAt(n.buf, p, n.ce);
      out.push(k);
      p = k.end;
    }
    return out;
  }
  // The bytes of an OCTET STRING (or [n] IMPLICIT one), joining BER constructed pieces.
  const octets = (n) => (n.tag & 0x20 ? concat(kids(n).map(octets)) : content(n));
  function oidOf(n) {
    const b = content(want(n, 0x06));
    const parts = [];
    let v = 0;
    for (let i = 0; i < b.length; i++) {
      v = v * 128 + (b[i] & 0x7f);
      if (!(b[i] & 0x80)) {
        if (!parts.length) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
        else parts.push(v);
        v = 0;
      }
    }
    return parts.join('.');
  }
  function intOf(n) {
    const b = content(want(n, 0x02));
    if (!b.length || b.length > 6 || b[0] & 0x80) malformed('integer');
    return b.reduce((v, x) => v * 256 + x, 0);
  }
  /** An element parsed from the whole of `bytes` (decrypted or embedded DER). */
  function parseWhole(bytes, tag) {
    const n = parse(bytes);
    if (n.end !== bytes.length) malformed('trailing bytes');
    return want(n, tag);
  }

  // ---------------------------------------------------------------- DER writer

  function tlv(tag, body) {
    const n = body.length;
    let head;
    if (n < 0x80) head = [tag, n];
    else {
      const lb = [];
      for (let x = n; x > 0; x = Math.floor(x / 256)) lb.unshift(x & 0xff);
      head = [tag, 0x80 | lb.length].concat(lb);
    }
    return concat([Uint8Array.from(head), body]);
  }
  const SEQ = (...items) => tlv(0x30, concat(items));
  const OCTETS = (b) => tlv(0x04, b);
  const NULL = Uint8Array.of(0x05, 0x00);
  const INT = (v) => tlv(0x02, Uint8Array.of(v)); // small non-negative (< 128) only
  const EXPLICIT0 = (inner) => tlv(0xa0, inner);
  function OID(s) {
    const p = s.split('.').map(Number);
    const out = [];
    [p[0] * 40 + p[1]].concat(p.slice(2)).forEach((v) => {
      const g = [v & 0x7f];
      for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) g.unshift((v & 0x7f) | 0x80);
      out.push(...g);
    });
    return tlv(0x06, Uint8Array.from(out));
  }
  // DER SET OF: elements sorted by their encodings (X.690 11.6).
  function sortedSet(tag, items) {
    const cmp = (a, b) => {
      for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
      return a.length - b.length;
    };
    return tlv(tag, concat(items.slice().sort(cmp)));
  }
  function derInteger(unsigned) {
    const b = stripZeros(unsigned);
    return tlv(0x02, b[0] & 0x80 ? concat([Uint8Array.of(0), b]) : b);
  }
  function derTime(date) {
    const y = date.getUTCFullYear();
    const two = (v) => String(v).padStart(2, '0');
    const rest = two(date.getUTCMonth() + 1) + two(date.getUTCDate()) + two(date.getUTCHours()) +
      two(date.getUTCMinutes()) + two(date.getUTCSeconds()) + 'Z';
    // RFC 5652 11.3: UTCTime for 1950–2049, GeneralizedTime otherwise.
    if (y >= 1950 && y < 2050) return tlv(0x17, new TextEncoder().encode(two(y % 100) + rest));
    return tlv(0x18, new TextEncoder().encode(String(y).padStart(4, '0') + rest));
  }

  // ---------------------------------------------------------------- object identifiers

  const O = {
    data: '1.2.840.113549.1.7.1', signedData: '1.2.840.113549.1.7.2',
    encryptedData: '1.2.840.113549.1.7.6',
    keyBag: '1.2.840.113549.1.12.10.1.1', shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
    certBag: '1.2.840.113549.1.12.10.1.3', safeContentsBag: '1.2.840.113549.1.12.10.1.6',
    x509Certificate: '1.2.840.113549.1.9.22.1', localKeyId: '1.2.840.113549.1.9.21',
    contentType: '1.2.840.113549.1.9.3', messageDigest: '1.2.840.113549.1.9.4',
    signingTime: '1.2.840.113549.1.9.5',
    pbes2: '1.2.840.113549.1.5.13', pbkdf2: '1.2.840.113549.1.5.12',
    rsa: '1.2.840.113549.1.1.1', sha256WithRSA: '1.2.840.113549.1.1.11',
    ecPublicKey: '1.2.840.10045.2.1', p256: '1.2.840.10045.3.1.7',
    ecdsaWithSHA256: '1.2.840.10045.4.3.2', sha256: '2.16.840.1.101.3.4.2.1',
  };
  // Digests by OID (macData) and PBKDF2 PRFs: [WebCrypto name, output bytes u, block bytes v].
  const DIGESTS = {
    '1.3.14.3.2.26': ['SHA-1', 20, 64], '2.16.840.1.101.3.4.2.1': ['SHA-256', 32, 64],
    '2.16.840.1.101.3.4.2.2': ['SHA-384', 48, 128], '2.16.840.1.101.3.4.2.3': ['SHA-512', 64, 128],
  };
  const PRFS = {
    '1.2.840.113549.2.7': 'SHA-1', '1.2.840.113549.2.9': 'SHA-256',
    '1.2.840.113549.2.10': 'SHA-384', '1.2.840.113549.2.11': 'SHA-512',
  };
  // PBES2 ciphers: [kind, key bytes].
  const CIPHERS = {
    '2.16.840.1.101.3.4.1.2': ['aes', 16], '2.16.840.1.101.3.4.1.22': ['aes', 24],
    '2.16.840.1.101.3.4.1.42': ['aes', 32], '1.2.840.113549.3.7': ['3des', 24],
    '1.3.14.3.2.7': ['des', 8],
  };
  // PKCS#12 PBEs (RFC 7292 appendix C): [kind, key bytes, RC2 effective bits].
  const P12_PBES = {
    '1.2.840.113549.1.12.1.3': ['3des', 24], '1.2.840.113549.1.12.1.4': ['3des', 16],
    '1.2.840.113549.1.12.1.5': ['rc2', 16, 128], '1.2.840.113549.1.12.1.6': ['rc2', 5, 40],
  };
  const NAME_KEYS = {
    '2.5.4.3': 'CN', '2.5.4.5': 'SERIALNUMBER', '2.5.4.6': 'C', '2.5.4.10': 'O', '2.5.4.11': 'OU',
    '2.5.4.4': 'SURNAME', '2.5.4.42': 'G', '2.5.4.7': 'L', '2.5.4.8': 'S', '1.2.840.113549.1.9.1': 'E',
  };

  // ---------------------------------------------------------------- PKCS#12 key derivation

  /** RFC 7292 appendix B.2: `n` bytes of key material of purpose `id` (1 key, 2 IV, 3 MAC). */
  async function p12kdf(digestOid, pw, salt, id, iterations, n) {
    const [hash, u, v] = DIGESTS[digestOid];
    const stretch = (src) => {
      const out = new Uint8Array(src.length ? v * Math.ceil(src.length / v) : 0);
      for (let i = 0; i < out.length; i++) out[i] = src[i % src.length];
      return out;
    };
    const D = new Uint8Array(v).fill(id);
    const I = concat([stretch(salt), stretch(pw)]);
    const out = new Uint8Array(n);
    for (let off = 0; ; off += u) {
      let A = await digest(hash, concat([D, I]));
      for (let r = 1; r < iterations; r++) A = await digest(hash, A);
      out.set(A.subarray(0, Math.min(u, n - off)), off);
      if (off + u >= n) return out;
      // I_j = (I_j + B + 1) mod 2^(8v), B = A repeated to v bytes.
      for (let j = 0; j < I.length; j += v) {
        let carry = 1;
        for (let k = v - 1; k >= 0; k--) {
          const s = I[j + k] + A[k % u] + carry;
          I[j + k] = s & 0xff;
          carry = s >> 8;
        }
      }
    }
  }

  // ---------------------------------------------------------------- DES / 3DES / RC2 (decrypt only)
  // Straight from FIPS 46-3 and RFC 2268, bit by bit: slow but small, and the legacy
  // parts of a .p12 are only a few kilobytes.

  const DES = (() => {
    const IP = [];
    for (const b of [58, 60, 62, 64, 57, 59, 61, 63]) for (let k = 0; k < 8; k++) IP.push(b - 8 * k);
    const FP = [];
    IP.forEach((v, i) => { FP[v - 1] = i + 1; });
    const E = [];
    for (let i = 0; i < 8; i++) for (let k = 0; k < 6; k++) E.push(((4 * i + k + 31) % 32) + 1);
    const P = [16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10,
      2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25];
    const PC1 = [57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27,
      19, 11, 3, 60, 52, 44, 36, 63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22,
      14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4];
    const PC2 = [14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2,
      41, 52, 31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32];
    const SHIFTS = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];
    const S = [
      'e4d12fb83a6c59070f74e2d1a6cb953841e8d62bfc973a50fc8249175b3ea06d',
      'f18e6b34972dc05a3d47f28ec01a69b50e7ba4d158c6932fd8a13f42b67c05e9',
      'a09e63f51dc7b428d709346a285ecbf1d6498f30b12c5ae71ad069874fe3b52c',
      '7de3069a1285bc4fd8b56f03472c1ae9a690cb7df13e52843f06a1d8945bc72e',
      '2c417ab6853fd0e9eb2c47d150fa3986421bad78f9c5630eb8c71e2d6f09a453',
      'c1af92680d34e75baf427c9561de0b389ef528c3704a1db6432c95fabe17608d',
      '4b2ef08d3c975a61d0b7491ae35c2f8614bdc37eaf6805926bd814a7950fe23c',
      'd2846fb1a93e50c71fd8a374c56b0e927b419ce206adf35821e74a8dfc90356b',
    ].map((s) => Array.from(s, (c) => parseInt(c, 16)));
    const bits = (bytes) => Array.from({ length: bytes.length * 8 }, (_, i) => (bytes[i >> 3] >> (7 - (i & 7))) & 1);
    const perm = (b, table) => table.map((i) => b[i - 1]);
    /** The 16 round keys of an 8-byte key, in encryption order. */
    function schedule(key) {
      let cd = perm(bits(key), PC1);
      return SHIFTS.map((s) => {
        cd = cd.slice(s, 28).concat(cd.slice(0, s), cd.slice(28 + s), cd.slice(28, 28 + s));
        return perm(cd, PC2);
      });
    }
    function block(input, keys) {
      const b = perm(bits(input), IP);
      let L = b.slice(0, 32), R = b.slice(32);
      for (const k of keys) {
        const x = perm(R, E).map((v, i) => v ^ k[i]);
        const f = [];
        for (let j = 0; j < 8; j++) {
          const s = x.slice(6 * j, 6 * j + 6);
          const v = S[j][(s[0] * 2 + s[5]) * 16 + s[1] * 8 + s[2] * 4 + s[3] * 2 + s[4]];
          f.push(v >> 3 & 1, v >> 2 & 1, v >> 1 & 1, v & 1);
        }
        const next = perm(f, P).map((v, i) => v ^ L[i]);
        L = R;
        R = next;
      }
      const out = perm(R.concat(L), FP);
      return Uint8Array.from({ length: 8 }, (_, i) => out.slice(8 * i, 8 * i + 8).reduce((a, v) => a * 2 + v, 0));
    }
    return { schedule, block };
  })();

  /** A DES (8-byte key) or 3DES-EDE (16 or 24-byte key) block decryptor. */
  function desDecryptor(key) {
    const ks = [0, 8, 16].map((o) => DES.schedule(key.subarray(o % key.length, o % key.length + 8)));
    const dec = (k) => k.slice().reverse();
    if (key.length === 8) return (c) => DES.block(c, dec(ks[0]));
    const [d1, e2, d3] = [dec(ks[0]), ks[1], dec(key.length === 16 ? ks[0] : ks[2])];
    return (c) => DES.block(DES.block(DES.block(c, d3), e2), d1);
  }

  const PITABLE = fromHex(
    'd978f9c419ddb5ed28e9fd794aa0d89dc67e37832b76538e624c6488448bfba2179a59f587b34f1361456d8d09817d32' +
    'bd8f40eb86b77b0bf09521225c6b4e8254d66593ce60b21c7356c014a78cf1dc1275ca1f3bbee4d1423dd430a33cb626' +
    '6fbf0eda4669075727f21d9bbc944303f811c7f690ef3ee706c3d52fc8661ed708e8eade8052eef784aa72ac354d6a2a' +
    '961ad2715a1549744b9fd05e0418a4ecc2e0416e0f51cbcc2491af50a1f47039997c3a8523b8b47afc02365b25559731' +
    '2d5dfa98e38a92ae05df2910676cbac9d300e6cfe19ea82c6316013f58e289a90d38341bab33ffb0bb480c5fb9b1cd2e' +
    'c5f3db47e5a59c770aa62068fe7fc1ad');

  /** An RC2 (RFC 2268) block decryptor with `bits` effective key bits. */
  function rc2Decryptor(key, bits) {
    const L = new Uint8Array(128);
    L.set(key);
    const T = key.length, T8 = Math.ceil(bits / 8), TM = 0xff >> (8 * T8 - bits);
    for (let i = T; i < 128; i++) L[i] = PITABLE[(L[i - 1] + L[i - T]) & 0xff];
    L[128 - T8] = PITABLE[L[128 - T8] & TM];
    for (let i = 127 - T8; i >= 0; i--) L[i] = PITABLE[L[i + 1] ^ L[i + T8]];
    const K = Array.from({ length: 64 }, (_, i) => L[2 * i] | (L[2 * i + 1] << 8));
    const ROT = [1, 2, 3, 5];
    return (c) => {
      const R = [0, 1, 2, 3].map((i) => c[2 * i] | (c[2 * i + 1] << 8));
      let j = 63;
      const rmix = () => {
        for (let i = 3; i >= 0; i--) {
          const r = R[i];
          R[i] = ((r >>> ROT[i]) | (r << (16 - ROT[i]))) & 0xffff;
          R[i] = (R[i] - K[j--] - (R[(i + 3) & 3] & R[(i + 2) & 3]) - (~R[(i + 3) & 3] & R[(i + 1) & 3])) & 0xffff;
        }
      };
      const rmash = () => {
        for (let i = 3; i >= 0; i--) R[i] = (R[i] - K[R[(i + 3) & 3] & 63]) & 0xffff;
      };
      [5, 1, 6, 1, 5].forEach((n, step) => {
        if (step % 2) rmash(); else for (let r = 0; r < n; r++) rmix();
      });
      return Uint8Array.from({ length: 8 }, (_, i) => (R[i >> 1] >> (8 * (i & 1))) & 0xff);
    };
  }

  /** CBC decryption with an 8-byte block decryptor, then PKCS#7 unpadding. */
  function cbcDecrypt(decryptBlock, iv, data) {
    if (!data.length || data.length % 8 || iv.length !== 8) fail('wrong_password', 'Bad ciphertext');
    const out = new Uint8Array(data.length);
    let prev = iv;
    for (let o = 0; o < data.length; o += 8) {
      const c = data.subarray(o, o + 8);
      const p = decryptBlock(c);
      for (let i = 0; i < 8; i++) out[o + i] = p[i] ^ prev[i];
      prev = c;
    }
    const pad = out[out.length - 1];
    if (pad < 1 || pad > 8 || out.subarray(out.length - pad).some((x) => x !== pad)) {
      fail('wrong_password', 'Wrong password (bad padding)');
    }
    return out.subarray(0, out.length - pad);
  }

  // ---------------------------------------------------------------- decryption of .p12 parts

  /** Decrypts `data` encrypted with the AlgorithmIdentifier `alg` under the password. */
  async function decrypt(alg, data, pw) {
    const [algOid, params] = kids(alg, 0x30);
    const id = oidOf(algOid);
    if (P12_PBES[id]) {
      const [kind, keyLen, rc2Bits] = P12_PBES[id];
      const [salt, iter] = kids(params, 0x30);
      const s = octets(want(salt, 0x04)), n = intOf(iter);
      const key = await p12kdf('1.3.14.3.2.26', pw.bmp, s, 1, n, keyLen);
      const iv = await p12kdf('1.3.14.3.2.26', pw.bmp, s, 2, n, 8);
      return cbcDecrypt(kind === 'rc2' ? rc2Decryptor(key, rc2Bits) : desDecryptor(key), iv, data);
    }
    if (id !== O.pbes2) fail('unsupported', 'Unsupported .p12 encryption ' + id);
    const [kdf, scheme] = kids(params, 0x30);
    const [kdfOid, kdfParams] = kids(kdf, 0x30);
    if (oidOf(kdfOid) !== O.pbkdf2) fail('unsupported', 'Unsupported key derivation ' + oidOf(kdfOid));
    const kp = kids(kdfParams, 0x30);
    if (!kp[0] || kp[0].tag !== 0x04) fail('unsupported', 'PBKDF2 salt source');
    const salt = octets(kp[0]), iterations = intOf(kp[1]);
    const prfNode = kp.slice(2).find((k) => k.tag === 0x30);
    const prf = prfNode ? PRFS[oidOf(kids(prfNode)[0])] : 'SHA-1';
    const [schemeOid, ivNode] = kids(scheme, 0x30);
    const cipher = CIPHERS[oidOf(schemeOid)];
    if (!prf || !cipher) fail('unsupported', 'Unsupported PBES2 cipher or PRF');
    const iv = octets(want(ivNode, 0x04));
    const s = subtle();
    const base = await s.importKey('raw', pw.utf8, 'PBKDF2', false, ['deriveBits']);
    const key = new Uint8Array(await s.deriveBits({ name: 'PBKDF2', salt, iterations, hash: prf }, base, cipher[1] * 8));
    if (cipher[0] !== 'aes') return cbcDecrypt(desDecryptor(key), iv, data);
    // (Chromium has no AES-192: such a file is 'unsupported' there.)
    const aes = await s.importKey('raw', key, 'AES-CBC', false, ['decrypt'])
      .catch(() => fail('unsupported', 'AES-' + key.length * 8 + ' is not available in this browser'));
    try {
      return new Uint8Array(await s.decrypt({ name: 'AES-CBC', iv }, aes, data));
    } catch (e) {
      return fail('wrong_password', 'Wrong password (bad padding)');
    }
  }

  /** Checks macData: HMAC (RFC 7292 KDF, ID 3) over the authSafe octets. */
  async function checkMac(macData, authSafe, password) {
    const [digestInfo, saltNode, iterNode] = kids(macData, 0x30);
    const [alg, macNode] = kids(digestInfo, 0x30);
    const digestOid = oidOf(kids(alg, 0x30)[0]);
    if (!DIGESTS[digestOid]) fail('unsupported', 'Unsupported MAC algorithm ' + digestOid);
    const salt = octets(want(saltNode, 0x04)), mac = octets(want(macNode, 0x04));
    const iterations = iterNode ? intOf(iterNode) : 1;
    const [hash, u] = DIGESTS[digestOid];
    // An empty password is two zero bytes by the standard, no bytes at all for some writers.
    const candidates = [bmpPassword(password)];
    if (!password) candidates.push(new Uint8Array(0));
    for (const pw of candidates) {
      const k = await p12kdf(digestOid, pw, salt, 3, iterations, u);
      const key = await subtle().importKey('raw', k, { name: 'HMAC', hash }, false, ['sign']);
      if (equal(new Uint8Array(await subtle().sign('HMAC', key, authSafe)), mac)) return pw;
    }
    return fail('wrong_password', 'Wrong password (MAC mismatch)');
  }

  // ---------------------------------------------------------------- certificates and keys

  function nameString(nameNode) {
    const parts = [];
    const values = {};
    for (const rdn of kids(nameNode, 0x30)) {
      for (const atv of kids(rdn, 0x31)) {
        const [t, v] = kids(atv, 0x30);
        const type = oidOf(t);
        const key = NAME_KEYS[type] || type;
        const b = content(v);
        let text = null;
        try {
          if ([0x0c, 0x13, 0x16, 0x14, 0x1a].includes(v.tag)) text = new TextDecoder('utf-8', { fatal: true }).decode(b);
          else if (v.tag === 0x1e) text = new TextDecoder('utf-16be', { fatal: true }).decode(b);
        } catch (e) { text = null; }
        if (text === null) text = '#' + hex(b);
        parts.push(key + '=' + text);
        (values[key] = values[key] || []).push(text);
      }
    }
    return { text: parts.join(', '), values };
  }

  function timeOf(n) {
    const s = new TextDecoder().decode(content(n));
    const m = n.tag === 0x17 ? /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?Z$/.exec(s)
      : n.tag === 0x18 ? /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?(?:\.\d+)?Z$/.exec(s) : null;
    if (!m) malformed('certificate time');
    let y = Number(m[1]);
    if (n.tag === 0x17) y += y < 50 ? 2000 : 1900;
    return new Date(Date.UTC(y, m[2] - 1, m[3], m[4], m[5], m[6] || 0));
  }

  /** The parts of an X.509 certificate (DER) needed here. */
  function certInfo(der) {
    const [tbs] = kids(parseWhole(der, 0x30));
    const f = kids(tbs, 0x30);
    const t = f[0].tag === 0xa0 ? f.slice(1) : f; // skip [0] version
    const [serial, , issuer, validity, subject, spki] = t;
    want(serial, 0x02);
    const [notBefore, notAfter] = kids(validity, 0x30);
    const subj = nameString(subject);
    const iinMatch = (subj.values.SERIALNUMBER || []).map((v) => /^IIN(\d{12})$/.exec(v)).find(Boolean);
    // basicConstraints (2.5.29.19) cA = TRUE marks a CA certificate.
    const extensions = f.find((x) => x.tag === 0xa3);
    const basic = (extensions ? kids(kids(extensions)[0], 0x30) : [])
      .map((e) => kids(e, 0x30)).find((e) => oidOf(e[0]) === '2.5.29.19');
    const bc = basic ? kids(parseWhole(octets(basic[basic.length - 1]), 0x30)) : [];
    return Object.assign({
      der, serial: raw(serial), serialHex: hex(stripZeros(content(serial))), issuer: raw(issuer),
      issuerText: nameString(issuer).text, subject: subj.text, iin: iinMatch ? iinMatch[1] : null,
      notBefore: timeOf(notBefore), notAfter: timeOf(notAfter), spki: raw(spki),
      isCA: bc.length > 0 && bc[0].tag === 0x01 && content(bc[0])[0] !== 0,
    }, publicKeyOf(spki));
  }

  /** {type: 'RSA', modulus} | {type: 'EC', point} | {type: other OID} from a SubjectPublicKeyInfo. */
  function publicKeyOf(spki) {
    const [alg, bits] = kids(spki, 0x30);
    const [algOid, params] = kids(alg, 0x30);
    const id = oidOf(algOid);
    const key = content(want(bits, 0x03)).subarray(1);
    if (id === O.rsa) return { type: 'RSA', modulus: stripZeros(content(kids(parseWhole(key, 0x30))[0])) };
    if (id === O.ecPublicKey && params && params.tag === 0x06 && oidOf(params) === O.p256) {
      return { type: 'EC', point: key };
    }
    return { type: id };
  }

  /** {type: 'RSA', modulus, rsaKey} | {type: 'EC', d, point|null} from a PKCS#8 PrivateKeyInfo. */
  function privateKeyOf(pkcs8) {
    const f = kids(parseWhole(pkcs8, 0x30));
    const [algOid, params] = kids(f[1], 0x30);
    const id = oidOf(algOid);
    const inner = octets(want(f[2], 0x04));
    if (id === O.rsa) {
      const rsaKey = parseWhole(inner, 0x30);
      return { type: 'RSA', modulus: stripZeros(content(kids(rsaKey)[1])), rsaKey: raw(rsaKey) };
    }
    if (id === O.ecPublicKey) {
      const ec = kids(parseWhole(inner, 0x30));
      const curve = params && params.tag === 0x06 ? oidOf(params)
        : (ec.find((k) => k.tag === 0xa0) && oidOf(kids(ec.find((k) => k.tag === 0xa0))[0]));
      if (curve !== O.p256) fail('unsupported', 'Unsupported elliptic curve ' + curve);
      const pubNode = ec.find((k) => k.tag === 0xa1);
      const point = pubNode ? content(want(kids(pubNode)[0], 0x03)).subarray(1) : null;
      return { type: 'EC', d: octets(want(ec[1], 0x04)), point };
    }
    return fail('unsupported', 'Unsupported key algorithm ' + id + ' (only RSA and ECDSA P-256 are supported)');
  }

  /** true / false when the public keys can be compared, null when the key has no public part. */
  function sameKey(key, cert) {
    if (key.type !== cert.type) return false;
    if (key.type === 'RSA') return equal(key.modulus, cert.modulus);
    return key.point ? equal(key.point, cert.point) : null;
  }

  // ---------------------------------------------------------------- reading a .p12

  /** {keys: [{pkcs8, keyId}], certs: [{der, keyId}]} of a .p12 file under a password. */
  async function readP12(bytes, password) {
    const pfx = parse(bytes);
    const [version, authSafe, macData] = kids(pfx, 0x30);
    if (intOf(version) !== 3) malformed('version');
    const [ctype, ctent] = kids(authSafe, 0x30);
    if (oidOf(ctype) === O.signedData) fail('unsupported', 'Public-key integrity mode');
    if (oidOf(ctype) !== O.data) malformed('authSafe');
    const authSafeOctets = octets(kids(ctent, 0xa0)[0]);
    const pw = { bmp: bmpPassword(password), utf8: new TextEncoder().encode(password), checked: false };
    if (macData) {
      pw.bmp = await checkMac(macData, authSafeOctets, password);
      pw.checked = true;
    }
    const out = { keys: [], certs: [] };
    // After a good MAC, undecodable decrypted data is a broken file; without one, a wrong password.
    const decoded = (bytes) => {
      try {
        return parseWhole(bytes, 0x30);
      } catch (e) {
        return fail(pw.checked ? 'malformed' : 'wrong_password', 'Cannot decode decrypted data');
      }
    };
    const attr = (bag, oid) => {
      const set = bag.find((k) => k.tag === 0x31);
      const a = set && kids(set).map((x) => kids(x, 0x30)).find((x) => oidOf(x[0]) === oid);
      return a ? octets(kids(a[1], 0x31)[0]) : null;
    };
    const walk = async (safeContents) => {
      for (const bagNode of kids(safeContents, 0x30)) {
        const bag = kids(bagNode, 0x30);
        const type = oidOf(bag[0]);
        const value = kids(bag[1], 0xa0)[0];
        const keyId = attr(bag, O.localKeyId);
        if (type === O.keyBag) out.keys.push({ pkcs8: raw(want(value, 0x30)), keyId });
        else if (type === O.shroudedKeyBag) {
          const [alg, enc] = kids(value, 0x30);
          const plain = await decrypt(alg, octets(want(enc, 0x04)), pw);
          out.keys.push({ pkcs8: raw(decoded(plain)), keyId });
        } else if (type === O.certBag) {
          const [certType, certValue] = kids(value, 0x30);
          if (oidOf(certType) === O.x509Certificate) out.certs.push({ der: octets(kids(certValue, 0xa0)[0]), keyId });
        } else if (type === O.safeContentsBag) await walk(value);
        // CRL and secret bags are ignored.
      }
    };
    for (const ci of kids(parseWhole(authSafeOctets, 0x30))) {
      const [t, c] = kids(ci, 0x30);
      const type = oidOf(t);
      if (type === O.data) await walk(parseWhole(octets(kids(c, 0xa0)[0]), 0x30));
      else if (type === O.encryptedData) {
        const [, eci] = kids(kids(c, 0xa0)[0], 0x30);
        const [, alg, enc] = kids(eci, 0x30);
        if (!enc) continue; // no content
        await walk(decoded(await decrypt(alg, octets(enc), pw)));
      } else fail('unsupported', 'Unsupported .p12 content ' + type);
    }
    return out;
  }

  /** The signing key of a .p12 and its certificate, plus the other certificates. */
  async function openP12(p12Bytes, password) {
    const bytes = toBytes(p12Bytes, 'p12Bytes');
    if (typeof password !== 'string') throw new TypeError('password must be a string');
    try {
      const { keys, certs } = await readP12(bytes, password);
      const infos = certs.map((c) => Object.assign(certInfo(c.der), { keyId: c.keyId }));
      if (!keys.length) fail('no_key', 'The file holds no private key');
      let unsupported = null;
      for (const k of keys) {
        let key;
        try {
          key = privateKeyOf(k.pkcs8);
        } catch (e) {
          if (e instanceof SignerError && e.code === 'unsupported') { unsupported = e; continue; }
          throw e;
        }
        const byKeyId = (c) => k.keyId && equal(k.keyId, c.keyId);
        const cert = infos.find((c) => sameKey(key, c) && byKeyId(c)) ||
          infos.find((c) => sameKey(key, c)) ||
          infos.find((c) => sameKey(key, c) === null && byKeyId(c)) ||
          (infos.filter((c) => !c.isCA).length === 1 &&
            infos.find((c) => !c.isCA && sameKey(key, c) === null));
        if (cert) return { key, cert, others: infos.filter((c) => c !== cert) };
      }
      if (unsupported) throw unsupported;
      return fail('no_key', 'No certificate matches the private key');
    } catch (e) {
      if (e instanceof SignerError) throw e;
      throw new SignerError('malformed', 'Not a valid PKCS#12 file: ' + (e && e.message));
    }
  }

  /** The key as a WebCrypto CryptoKey for signing with SHA-256. */
  async function importSigningKey(key, cert) {
    try {
      if (key.type === 'RSA') {
        const pkcs8 = SEQ(INT(0), SEQ(OID(O.rsa), NULL), OCTETS(key.rsaKey));
        return await subtle().importKey('pkcs8', pkcs8, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
      }
      // EC through JWK: works whether or not the PKCS#8 carries the public point.
      const point = key.point || cert.point;
      if (point.length !== 65 || point[0] !== 4) fail('unsupported', 'Compressed EC public key');
      const d = concat([new Uint8Array(32), stripZeros(key.d)]).slice(-32);
      const jwk = { kty: 'EC', crv: 'P-256', d: base64url(d),
        x: base64url(point.subarray(1, 33)), y: base64url(point.subarray(33)) };
      return await subtle().importKey('jwk', jwk, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign'])
        .catch((e) => { if (key.point) throw e; fail('no_key', 'The private key does not match its certificate'); });
    } catch (e) {
      if (e instanceof SignerError) throw e;
      throw new SignerError('malformed', 'The private key cannot be imported: ' + (e && e.message));
    }
  }

  /** WebCrypto's raw r||s ECDSA signature as a DER ECDSA-Sig-Value. */
  function ecdsaDer(rs) {
    const half = rs.length / 2;
    return SEQ(derInteger(rs.subarray(0, half)), derInteger(rs.subarray(half)));
  }

  function summary(cert) {
    return {
      subject: cert.subject, iin: cert.iin, notBefore: cert.notBefore, notAfter: cert.notAfter,
      issuer: cert.issuerText, serialNumber: cert.serialHex,
      algorithm: cert.type === 'RSA' ? 'RSA' : 'ECDSA P-256',
    };
  }

  // ---------------------------------------------------------------- API

  /** The certificate of a .p12's key: {subject, iin, notBefore, notAfter, issuer, serialNumber, algorithm}. */
  async function inspectP12(p12Bytes, password) {
    return summary((await openP12(p12Bytes, password)).cert);
  }

  /**
   * Signs `payload` with the key of a .p12: a DER CMS ContentInfo with SignedData, the payload
   * attached, the signer's certificate and the file's other certificates, and signed attributes
   * contentType, signingTime and messageDigest (SHA-256).
   */
  async function signWithP12(p12Bytes, password, payload, options) {
    const data = toBytes(payload, 'payload');
    const signingTime = (options && options.signingTime) || new Date();
    const { key, cert, others } = await openP12(p12Bytes, password);
    const cryptoKey = await importSigningKey(key, cert);
    const rsa = key.type === 'RSA';

    const attr = (oid, value) => SEQ(OID(oid), sortedSet(0x31, [value]));
    const signedAttrs = sortedSet(0x31, [
      attr(O.contentType, OID(O.data)),
      attr(O.signingTime, derTime(signingTime)),
      attr(O.messageDigest, OCTETS(await digest('SHA-256', data))),
    ]);
    const alg = rsa ? { name: 'RSASSA-PKCS1-v1_5' } : { name: 'ECDSA', hash: 'SHA-256' };
    let signature = new Uint8Array(await subtle().sign(alg, cryptoKey, signedAttrs));

    // A key that does not belong to the certificate would give an unverifiable signature.
    const pub = await subtle().importKey('spki', cert.spki,
      rsa ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } : { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify'])
      .catch(() => fail('unsupported', 'The certificate public key cannot be imported'));
    if (!(await subtle().verify(alg, pub, signature, signedAttrs))) {
      fail('no_key', 'The private key does not match its certificate');
    }
    if (!rsa) signature = ecdsaDer(signature);

    const sha256 = SEQ(OID(O.sha256)); // parameters absent (RFC 5754)
    const signerInfo = SEQ(
      INT(1),
      SEQ(cert.issuer, cert.serial), // IssuerAndSerialNumber, verbatim from the certificate
      sha256,
      tlv(0xa0, content(parse(signedAttrs))), // [0] IMPLICIT SET OF Attribute
      rsa ? SEQ(OID(O.sha256WithRSA), NULL) : SEQ(OID(O.ecdsaWithSHA256)),
      OCTETS(signature));
    const certs = [cert.der].concat(others.map((c) => c.der)).filter((d, i, all) => all.findIndex((x) => equal(x, d)) === i);
    const signedData = SEQ(
      INT(1),
      sortedSet(0x31, [sha256]),
      SEQ(OID(O.data), EXPLICIT0(OCTETS(data))),
      sortedSet(0xa0, certs), // [0] IMPLICIT CertificateSet
      sortedSet(0x31, [signerInfo]));
    const cms = SEQ(OID(O.signedData), EXPLICIT0(signedData));
    return Object.assign({ cms, cmsBase64: base64(cms) }, summary(cert));
  }

  const api = { signWithP12, inspectP12, SignerError };
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.TalapkerSigner = api;
})(typeof self !== 'undefined' ? self : typeof globalThis !== 'undefined' ? globalThis : this);
