/**
 * Minimal X.509 issuing for ECDSA P-256 keys.
 *
 * node-forge signs only with RSA, and RSA key generation costs ~100 ms+ per key; Node's crypto makes a P-256 key and
 * an ECDSA signature in well under a millisecond. So keys and signatures come from `node:crypto`, and forge is used
 * only for what it encodes well: distinguished names, extensions and DER (RFC 5280 §4.1).
 */
import * as crypto from 'node:crypto';
import forge from 'node-forge';

const { asn1 } = forge;
/** Helpers forge exports at run time but its type definitions omit. */
const forgePki = forge.pki as typeof forge.pki & {
  certificateExtensionsToAsn1(extensions: unknown[]): forge.asn1.Asn1;
  RDNAttributesAsArray(rdn: forge.asn1.Asn1): { shortName?: string; value: string }[];
};

/** ecdsa-with-SHA256 (RFC 5758 §3.2: the AlgorithmIdentifier has no parameters). */
const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';

export interface NameAttributes {
  readonly commonName: string;
  /** Each becomes its own O attribute; Kubernetes reads them as the user's groups. */
  readonly organizations?: readonly string[];
}

export interface CertificateTemplate {
  readonly subject: NameAttributes;
  readonly publicKey: crypto.KeyObject;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCa: boolean;
  /** DNS names and IP addresses for a serving certificate. */
  readonly dnsNames?: readonly string[];
  readonly ipAddresses?: readonly string[];
  readonly extKeyUsage?: { readonly serverAuth?: boolean; readonly clientAuth?: boolean };
}

export interface Issuer {
  readonly certPem: string;
  readonly key: crypto.KeyObject;
}

export function newKeyPair(): { publicKey: crypto.KeyObject; privateKey: crypto.KeyObject } {
  return crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
}

/** Signs `template` with `issuer` (or self-signs with `selfKey` when issuer is absent) and returns PEM. */
export function signCertificate(template: CertificateTemplate, issuer: Issuer | { selfKey: crypto.KeyObject }): string {
  const subject = toForgeName(template.subject);
  const subjectKeyId = keyIdentifier(template.publicKey);
  let issuerName: forge.pki.Certificate['issuer'];
  let issuerKeyId: Buffer;
  let signingKey: crypto.KeyObject;
  if ('selfKey' in issuer) {
    issuerName = subject;
    issuerKeyId = subjectKeyId;
    signingKey = issuer.selfKey;
  } else {
    const issuerCert = new crypto.X509Certificate(issuer.certPem);
    const parsedIssuer = parseCertificate(issuerCert.raw);
    issuerName = toForgeName({ commonName: parsedIssuer.commonName, organizations: parsedIssuer.organizations });
    issuerKeyId = keyIdentifier(issuerCert.publicKey);
    signingKey = issuer.key;
  }

  const holder = forge.pki.createCertificate();
  holder.setExtensions(extensionsFor(template, subjectKeyId, issuerKeyId));
  const tbs = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, true, [integer(Buffer.from([2]))]), // v3
    integer(randomSerial()),
    signatureAlgorithm(),
    forge.pki.distinguishedNameToAsn1(issuerName),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [time(template.notBefore), time(template.notAfter)]),
    forge.pki.distinguishedNameToAsn1(subject),
    fromDer(template.publicKey.export({ type: 'spki', format: 'der' })),
    // certificateExtensionsToAsn1 returns the explicit [3] wrapper itself.
    forgePki.certificateExtensionsToAsn1(holder.extensions),
  ]);
  const tbsDer = toDer(tbs);
  const signature = crypto.sign('sha256', tbsDer, signingKey);
  const cert = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    signatureAlgorithm(),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, '\x00' + signature.toString('binary')),
  ]);
  return derToPem(toDer(cert));
}

export interface ParsedCertificate {
  readonly commonName: string;
  readonly organizations: string[];
}

/** Reads CN and every O from a certificate's subject (DER). Throws if the DER is not a certificate. */
export function parseCertificate(der: Buffer): ParsedCertificate {
  const cert = asn1.fromDer(forge.util.createBuffer(der.toString('binary'))) as forge.asn1.Asn1;
  const tbs = (cert.value as forge.asn1.Asn1[])[0];
  const fields = tbs.value as forge.asn1.Asn1[];
  // With the explicit [0] version tag present, the subject is the 6th field (RFC 5280 §4.1).
  const subjectIndex = fields[0].tagClass === asn1.Class.CONTEXT_SPECIFIC ? 5 : 4;
  const attributes = forgePki.RDNAttributesAsArray(fields[subjectIndex]);
  return {
    commonName: attributes.find((a) => a.shortName === 'CN')?.value ?? '',
    organizations: attributes.filter((a) => a.shortName === 'O').map((a) => a.value),
  };
}

function extensionsFor(template: CertificateTemplate, subjectKeyId: Buffer, issuerKeyId: Buffer): object[] {
  const extensions: object[] = [
    { name: 'basicConstraints', cA: template.isCa, critical: true },
    template.isCa
      ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier', value: toDer(octetString(subjectKeyId)).toString('binary') },
  ];
  if (!template.isCa) {
    // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING }
    const aki = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.CONTEXT_SPECIFIC, 0, false, issuerKeyId.toString('binary')),
    ]);
    extensions.push({ name: 'authorityKeyIdentifier', value: toDer(aki).toString('binary') });
  }
  if (template.extKeyUsage) extensions.push({ name: 'extKeyUsage', ...template.extKeyUsage });
  const altNames = [
    ...(template.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(template.ipAddresses ?? []).map((ip) => ({ type: 7, ip })),
  ];
  if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames });
  return extensions;
}

function toForgeName(name: NameAttributes): forge.pki.Certificate['subject'] {
  const holder = forge.pki.createCertificate();
  holder.setSubject([
    { shortName: 'CN', value: name.commonName },
    ...(name.organizations ?? []).map((value) => ({ shortName: 'O', value })),
  ]);
  return holder.subject;
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING (here: of the SPKI; any stable id works). */
function keyIdentifier(publicKey: crypto.KeyObject): Buffer {
  return crypto.createHash('sha1').update(publicKey.export({ type: 'spki', format: 'der' })).digest();
}

function randomSerial(): Buffer {
  const serial = crypto.randomBytes(16);
  serial[0] &= 0x7f; // positive INTEGER
  serial[0] |= 0x01; // no leading zero octet to strip
  return serial;
}

function signatureAlgorithm(): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(OID_ECDSA_SHA256).getBytes()),
  ]);
}

function integer(bytes: Buffer): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.INTEGER, false, bytes.toString('binary'));
}

function octetString(bytes: Buffer): forge.asn1.Asn1 {
  return asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OCTETSTRING, false, bytes.toString('binary'));
}

function time(date: Date): forge.asn1.Asn1 {
  // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
  return date.getUTCFullYear() < 2050
    ? asn1.create(asn1.Class.UNIVERSAL, asn1.Type.UTCTIME, false, asn1.dateToUtcTime(date))
    : asn1.create(asn1.Class.UNIVERSAL, asn1.Type.GENERALIZEDTIME, false, asn1.dateToGeneralizedTime(date));
}

function fromDer(der: Buffer): forge.asn1.Asn1 {
  return asn1.fromDer(forge.util.createBuffer(der.toString('binary')));
}

function toDer(node: forge.asn1.Asn1): Buffer {
  return Buffer.from(asn1.toDer(node).getBytes(), 'binary');
}

function derToPem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
