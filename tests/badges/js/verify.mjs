// Independent verification of a vc+jwt Open Badges credential, in another language and with
// another JOSE library (panva/jose) than the issuer's. Usage:
//   node verify.mjs KEYS_FILE CREDENTIAL_FILE [STATUS_LIST_FILE ...] [--now ISO]
// The keys file is what /.well-known/jwks.json or /.well-known/did.json serves; each status list file is a signed
// BitstringStatusListCredential as /badges/status/<purpose>/<n> serves it. Prints one JSON
// line: {"ok": bool, "errors": [...], "credential": {...}, "status": {"revocation": bool, ...}}
// and exits 0 only when the credential verifies, is in its validity period and no status bit
// is set.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { decodeProtectedHeader, importJWK, jwtVerify } from "jose";

const args = process.argv.slice(2);
let now = new Date();
const nowAt = args.indexOf("--now");
if (nowAt >= 0) {
  now = new Date(args[nowAt + 1]);
  args.splice(nowAt, 2);
}
const [jwksFile, credentialFile, ...listFiles] = args;
// The keys: a JWKS, or a did:web document whose assertion methods hold them.
const published = JSON.parse(readFileSync(jwksFile, "utf8"));
const jwks = published.verificationMethod
  ? {
      keys: published.verificationMethod
        .filter((method) => (published.assertionMethod || []).includes(method.id))
        .map((method) => ({ ...method.publicKeyJwk, kid: method.id.split("#").pop(), did: published.id })),
    }
  : published;
const errors = [];

// Checks the signature with the published key the header names, the typ, and the registered
// claims (iss the issuer, nbf/exp against `now`), as any JWT verifier does.
async function open(token, expectedType) {
  const header = decodeProtectedHeader(token);
  const kid = String(header.kid || "").split("#").pop();
  const jwk = jwks.keys.find((key) => key.kid === kid);
  if (!jwk) throw new Error(`no published key ${kid}`);
  if (jwk.did && String(header.kid).split("#")[0] !== jwk.did) throw new Error("kid names another DID");
  const { did, ...keyOnly } = jwk;
  const key = await importJWK(keyOnly, header.alg);
  const { payload } = await jwtVerify(token, key, {
    algorithms: ["ES256"],
    typ: "vc+jwt",
    currentDate: now,
  });
  const issuer = typeof payload.issuer === "string" ? payload.issuer : payload.issuer.id;
  if (payload.iss !== issuer) throw new Error("iss is not the credential's issuer");
  if (String(header.kid).split("#")[0] !== issuer) throw new Error("kid is not the issuer's key");
  if (payload.jti !== payload.id) throw new Error("jti is not the credential's id");
  if (!payload.type.includes(expectedType)) throw new Error(`not a ${expectedType}`);
  if (!payload["@context"] || payload["@context"][0] !== "https://www.w3.org/ns/credentials/v2")
    throw new Error("not a VC Data Model 2.0 credential");
  return payload;
}

const result = { ok: false, errors, credential: null, status: {} };
try {
  const credential = await open(readFileSync(credentialFile, "utf8").trim(), "OpenBadgeCredential");
  result.credential = {
    id: credential.id,
    achievement: credential.credentialSubject.achievement.name,
    validFrom: credential.validFrom,
    validUntil: credential.validUntil || null,
  };
  const lists = [];
  for (const file of listFiles) lists.push(await open(readFileSync(file, "utf8").trim(), "BitstringStatusListCredential"));
  for (const entry of credential.credentialStatus || []) {
    const list = lists.find((l) => l.id === entry.statusListCredential);
    if (!list) throw new Error(`status list ${entry.statusListCredential} was not given`);
    if (list.credentialSubject.statusPurpose !== entry.statusPurpose) throw new Error("status purpose differs");
    const encoded = list.credentialSubject.encodedList;
    if (!encoded.startsWith("u")) throw new Error("encodedList is not multibase base64url");
    const bits = gunzipSync(Buffer.from(encoded.slice(1), "base64url"));
    const index = Number(entry.statusListIndex);
    const set = (bits[Math.floor(index / 8)] & (0x80 >> index % 8)) !== 0;
    result.status[entry.statusPurpose] = set;
    if (set) errors.push(`${entry.statusPurpose} bit set`);
  }
} catch (error) {
  errors.push(String(error && error.message ? error.message : error));
}
result.ok = errors.length === 0 && result.credential !== null;
console.log(JSON.stringify(result));
process.exit(result.ok ? 0 : 1);
