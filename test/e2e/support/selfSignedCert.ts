// A self-signed TLS certificate for one host name, made with node:crypto
// alone (no openssl on the host, none in the official images): an EC P-256
// key and an X.509 v3 certificate, DER-encoded by hand (the few ASN.1 types
// it needs). For a test stand-in that must answer HTTPS under a real name
// (test/e2e/slack-web-api.compose.yml): the client trusts this certificate
// alone (SSL_CERT_FILE), which, in its own trust store, needs no CA above it.
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, ...content: Buffer[]) => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
};
const seq = (...items: Buffer[]) => tlv(0x30, ...items);
const set = (...items: Buffer[]) => tlv(0x31, ...items);
const explicit = (n: number, inner: Buffer) => tlv(0xa0 + n, inner);
const integer = (bytes: Buffer) => tlv(0x02, bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
const octets = (bytes: Buffer) => tlv(0x04, bytes);
const bits = (bytes: Buffer) => tlv(0x03, Buffer.from([0]), bytes);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [a! * 40 + b!];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}
/** UTCTime, YYMMDDHHMMSSZ: dates before 2050. */
const utcTime = (d: Date) => tlv(0x17, Buffer.from(`${d.toISOString().slice(2, 19).replace(/[-T:]/g, '')}Z`, 'ascii'));
const extension = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

export interface SelfSignedCert {
  /** PEM, for the server and for the client's trust store. */
  cert: string;
  /** PEM (PKCS#8). */
  key: string;
}

/** A certificate for `host` (subject CN and subjectAltName), valid from an hour ago for `days` days, for TLS servers. */
export function selfSignedCert(host: string, days = 2): SelfSignedCert {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ecdsaWithSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const name = seq(set(seq(oid('2.5.4.3'), utf8(host))));
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  const now = Date.now();
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))), // v3
    integer(serial),
    ecdsaWithSha256,
    name,
    seq(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + days * 86_400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(
      3,
      seq(
        // subjectAltName: dNSName [2] host. Clients match the name here, not the CN.
        extension('2.5.29.17', false, seq(tlv(0x82, Buffer.from(host, 'ascii')))),
        // keyUsage: digitalSignature (an ECDHE handshake signs).
        extension('2.5.29.15', true, tlv(0x03, Buffer.from([7, 0x80]))),
        // extKeyUsage: serverAuth.
        extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))),
      ),
    ),
  );
  const der = seq(tbs, ecdsaWithSha256, bits(sign('sha256', tbs, privateKey)));
  const cert = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
  // Checked as a TLS client would, before anything relies on it.
  const x509 = new X509Certificate(cert);
  if (x509.checkHost(host) !== host || !x509.verify(publicKey) || !x509.checkPrivateKey(createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' })))) {
    throw new Error(`selfSignedCert: the certificate made for ${host} does not check out`);
  }
  return { cert, key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}
