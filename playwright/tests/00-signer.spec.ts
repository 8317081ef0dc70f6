// The in-browser ЭЦП signer (public/js/signer.js), unit-tested in Node: no page, no server.
// It signs with the demo .p12 keys (RSA and ECDSA P-256) and every CMS it makes is checked
// here independently, with node:crypto and a few lines of DER reading (and with
// `openssl cms -verify`; .ci/run installs openssl).
import { test, expect } from "@playwright/test";
import { createRequire } from "module";
import { execFileSync, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const signer = createRequire(__filename)(path.resolve(__dirname, "..", "..", "public", "js", "signer.js"));

const PASSWORD = "demo1234";
const PAYLOAD = Buffer.from('{"list":"L-1","applicants":["941008400880"],"note":"Қазақстан"}', "utf8");

// The demo keys: from TALAPKER_SIGNER_PKI_DIR, else written by the binary the config serves
// (the same CARGO_TARGET_DIR logic as playwright.config.ts).
let pkiDir = process.env.TALAPKER_SIGNER_PKI_DIR ?? "";
test.beforeAll(() => {
  if (pkiDir) return;
  const targetDir = process.env.CARGO_TARGET_DIR
    ? path.resolve(process.env.CARGO_TARGET_DIR)
    : path.resolve(__dirname, "..", "..", "target");
  pkiDir = fs.mkdtempSync(path.join(os.tmpdir(), "talapker-signer-"));
  execFileSync(path.join(targetDir, "debug", "talapker"), ["pki", "demo", "--dir", pkiDir, "--password", PASSWORD], {
    stdio: "pipe",
  });
});
const p12 = (kind: "RSA256" | "ECDSA", login = "mg_admin") =>
  new Uint8Array(fs.readFileSync(path.join(pkiDir, "keys", `AUTH_${kind}_${login}.p12`)));

// ---- an independent DER reader, just enough for CMS and certificates

type Node = { buf: Buffer; tag: number; start: number; cs: number; end: number };
function read(buf: Buffer, pos: number, limit = buf.length): Node {
  const tag = buf[pos];
  let len = buf[pos + 1];
  let p = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    expect(n, "a definite, minimal length").toBeGreaterThan(0);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[p++];
    expect(len, "a minimal length").toBeGreaterThanOrEqual(n === 1 ? 0x80 : 256 ** (n - 1));
  }
  expect(p + len, "an element inside its parent").toBeLessThanOrEqual(limit);
  return { buf, tag, start: pos, cs: p, end: p + len };
}
function kids(n: Node, tag?: number): Node[] {
  if (tag !== undefined) expect(n.tag).toBe(tag);
  const out: Node[] = [];
  for (let p = n.cs; p < n.end; ) {
    const k = read(n.buf, p, n.end);
    out.push(k);
    p = k.end;
  }
  return out;
}
const whole = (n: Node) => n.buf.subarray(n.start, n.end);
const body = (n: Node) => n.buf.subarray(n.cs, n.end);
function oid(n: Node): string {
  expect(n.tag).toBe(0x06);
  const b = body(n);
  const out = [Math.floor(b[0] / 40), b[0] % 40];
  for (let i = 1, v = 0; i < b.length; i++) {
    v = v * 128 + (b[i] & 0x7f);
    if (!(b[i] & 0x80)) (out.push(v), (v = 0));
  }
  return out.join(".");
}

/** Checks a CMS SignedData of PAYLOAD as a verifier would; returns the signer's certificate. */
function verifyCms(cms: Buffer, payload: Buffer, signingTime?: Date) {
  const ci = read(cms, 0);
  expect(ci.end, "one ContentInfo, nothing after it").toBe(cms.length);
  const [contentType, explicit] = kids(ci, 0x30);
  expect(oid(contentType)).toBe("1.2.840.113549.1.7.2");
  const [version, digestAlgs, encap, certSet, signerInfos] = kids(kids(explicit, 0xa0)[0], 0x30);
  expect(body(version)).toEqual(Buffer.from([1]));
  expect(kids(digestAlgs, 0x31).map((a) => oid(kids(a, 0x30)[0]))).toEqual(["2.16.840.1.101.3.4.2.1"]);
  const [eType, eContent] = kids(encap, 0x30);
  expect(oid(eType)).toBe("1.2.840.113549.1.7.1");
  expect(Buffer.from(body(kids(eContent, 0xa0)[0]))).toEqual(payload);
  const certs = kids(certSet, 0xa0).map(whole);
  const infos = kids(signerInfos, 0x31);
  expect(infos).toHaveLength(1);
  const [siVersion, sid, digestAlg, signedAttrs, sigAlg, signature] = kids(infos[0], 0x30);
  expect(body(siVersion)).toEqual(Buffer.from([1]));
  expect(oid(kids(digestAlg, 0x30)[0])).toBe("2.16.840.1.101.3.4.2.1");
  expect(signedAttrs.tag, "signed attributes, [0] IMPLICIT").toBe(0xa0);

  // The signer's certificate: the one whose issuer and serial are the sid's, byte for byte.
  const [sidIssuer, sidSerial] = kids(sid, 0x30).map(whole);
  const signerDer = certs.find((der) => {
    const tbs = kids(kids(read(der, 0), 0x30)[0], 0x30);
    const f = tbs[0].tag === 0xa0 ? tbs.slice(1) : tbs;
    return whole(f[0]).equals(sidSerial) && whole(f[2]).equals(sidIssuer);
  });
  expect(signerDer, "the signer's certificate is included").toBeTruthy();
  const cert = new crypto.X509Certificate(signerDer!);

  // Signed attributes: DER SET OF (sorted), contentType, messageDigest, signingTime.
  const attrs = kids(signedAttrs);
  const encodings = attrs.map((a) => Buffer.from(whole(a)));
  expect([...encodings].sort(Buffer.compare)).toEqual(encodings);
  const attr = new Map(attrs.map((a) => kids(a, 0x30)).map(([t, v]) => [oid(t), kids(v, 0x31)]));
  expect(oid(attr.get("1.2.840.113549.1.9.3")![0])).toBe("1.2.840.113549.1.7.1");
  const digest = crypto.createHash("sha256").update(payload).digest();
  expect(Buffer.from(body(attr.get("1.2.840.113549.1.9.4")![0]))).toEqual(digest);
  const time = attr.get("1.2.840.113549.1.9.5")![0];
  expect(time.tag, "signingTime as UTCTime").toBe(0x17);
  if (signingTime) {
    const iso = signingTime.toISOString();
    const utc = iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19) + "Z";
    expect(body(time).toString("latin1")).toBe(utc);
  }

  // The signature over the signed attributes re-tagged as SET.
  const signed = Buffer.from(whole(signedAttrs));
  signed[0] = 0x31;
  const ec = cert.publicKey.asymmetricKeyType === "ec";
  const [sigOid, ...sigParams] = kids(sigAlg, 0x30);
  expect(oid(sigOid)).toBe(ec ? "1.2.840.10045.4.3.2" : "1.2.840.113549.1.1.11");
  expect(sigParams.length).toBe(ec ? 0 : 1);
  expect(signature.tag).toBe(0x04);
  expect(crypto.verify("sha256", signed, cert.publicKey, body(signature)), "the signature verifies").toBe(true);
  return cert;
}

async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e, "errors are SignerErrors").toBeInstanceOf(signer.SignerError);
    return (e as { code: string }).code;
  }
  return "resolved";
}


// ---- the specs

for (const [kind, algorithm] of [
  ["RSA256", "RSA"],
  ["ECDSA", "ECDSA P-256"],
] as const) {
  test(`a ${algorithm} .p12 signs a payload into a CMS that verifies`, async () => {
    const signingTime = new Date(Math.floor(Date.now() / 1000) * 1000);
    const r = await signer.signWithP12(p12(kind), PASSWORD, new Uint8Array(PAYLOAD), { signingTime });
    expect(r.algorithm).toBe(algorithm);
    expect(r.cms).toBeInstanceOf(Uint8Array);
    expect(r.cmsBase64).toBe(Buffer.from(r.cms).toString("base64"));
    const cert = verifyCms(Buffer.from(r.cms), PAYLOAD, signingTime);
    expect(cert.publicKey.asymmetricKeyType).toBe(kind === "ECDSA" ? "ec" : "rsa");

    // What the user is shown comes from that certificate.
    expect(r.iin).toMatch(/^\d{12}$/);
    expect(r.subject).toBe(cert.subject.split("\n").map((p) => p.replace(/^serialNumber=/, "SERIALNUMBER=")).join(", "));
    expect(r.subject).toContain(`SERIALNUMBER=IIN${r.iin}`);
    expect(r.notAfter).toBeInstanceOf(Date);
    expect(r.notAfter.getTime()).toBe(new Date(cert.validTo).getTime());

    // Another account's key gives another IIN.
    const other = await signer.inspectP12(p12(kind, "mg_field"), PASSWORD);
    expect(other.iin).toMatch(/^\d{12}$/);
    expect(other.iin).not.toBe(r.iin);
  });
}

test("inspectP12 reads the certificate without signing", async () => {
  const info = await signer.inspectP12(p12("ECDSA"), PASSWORD);
  const signed = await signer.signWithP12(p12("ECDSA"), PASSWORD, new Uint8Array(PAYLOAD));
  expect(info.subject).toBe(signed.subject);
  expect(info.iin).toBe(signed.iin);
  expect(info.notAfter.getTime()).toBe(signed.notAfter.getTime());
  expect(info.algorithm).toBe("ECDSA P-256");
});

test("a wrong password, garbage and truncated files are refused with their codes", async () => {
  for (const kind of ["RSA256", "ECDSA"] as const) {
    expect(await rejection(signer.signWithP12(p12(kind), "demo12345", new Uint8Array(PAYLOAD)))).toBe("wrong_password");
    expect(await rejection(signer.inspectP12(p12(kind), ""))).toBe("wrong_password");
  }
  expect(await rejection(signer.signWithP12(new Uint8Array(0), PASSWORD, PAYLOAD))).toBe("malformed");
  const garbage = new Uint8Array(crypto.randomBytes(700));
  garbage[0] = 0x04; // never a SEQUENCE
  expect(await rejection(signer.signWithP12(garbage, PASSWORD, PAYLOAD))).toBe("malformed");
  expect(await rejection(signer.signWithP12(new TextEncoder().encode("-----BEGIN PKCS12-----"), PASSWORD, PAYLOAD))).toBe(
    "malformed",
  );

  const full = p12("RSA256");
  const lengths = [1, 2, 3, 4, 10, 100, full.length >> 1, full.length - 40, full.length - 1];
  for (let n = 5; n < full.length; n += 211) lengths.push(n);
  for (const n of lengths) {
    const code = await rejection(signer.signWithP12(full.slice(0, n), PASSWORD, PAYLOAD));
    expect(["malformed", "wrong_password"], `truncated to ${n} bytes: ${code}`).toContain(code);
  }
});

test("openssl verifies the CMS against the demo root", async () => {
  expect(spawnSync("openssl", ["version"]).status, "openssl is required (apt-get install openssl)").toBe(0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "talapker-cms-"));
  for (const kind of ["RSA256", "ECDSA"] as const) {
    const r = await signer.signWithP12(p12(kind), PASSWORD, new Uint8Array(PAYLOAD));
    const file = path.join(dir, `${kind}.der`);
    fs.writeFileSync(file, r.cms);
    const root = path.join(pkiDir, "trust", "demo-root.pem");
    const args = ["cms", "-verify", "-binary", "-inform", "DER", "-in", file, "-CAfile", root, "-purpose", "any"];
    const out = spawnSync("openssl", args);
    expect(out.stderr.toString()).toContain("Verification successful");
    expect(out.status).toBe(0);
    expect(out.stdout).toEqual(PAYLOAD);
  }
});

test("a legacy .p12 (3DES key, RC2-40 certificates, SHA-1 MAC) signs too", async () => {
  expect(spawnSync("openssl", ["version"]).status, "openssl is required (apt-get install openssl)").toBe(0);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "talapker-legacy-"));
  const pem = path.join(dir, "all.pem");
  const legacy = path.join(dir, "legacy.p12");
  const run = (args: string[]) => spawnSync("openssl", args, { stdio: "pipe" }).status === 0;
  const src = path.join(pkiDir, "keys", "AUTH_ECDSA_mg_admin.p12");
  const made =
    run(["pkcs12", "-in", src, "-passin", `pass:${PASSWORD}`, "-nodes", "-out", pem]) &&
    run(["pkcs12", "-export", "-legacy", "-in", pem, "-passout", "pass:старый", "-out", legacy]);
  expect(made, "openssl writes a legacy .p12 (-legacy)").toBe(true);
  const bytes = new Uint8Array(fs.readFileSync(legacy));
  const r = await signer.signWithP12(bytes, "старый", new Uint8Array(PAYLOAD));
  verifyCms(Buffer.from(r.cms), PAYLOAD);
  expect(r.iin).toBe((await signer.inspectP12(p12("ECDSA"), PASSWORD)).iin);
  expect(await rejection(signer.signWithP12(bytes, "новый", PAYLOAD))).toBe("wrong_password");
});
