// The control plane's certificates, made with the openssl CLI (what kubeadm would generate): one CA that signs the
// apiserver's serving cert, every client cert and (through the controller-manager) CSRs, plus the service-account key.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import YAML from 'yaml';

const execFileP = promisify(execFile);

/** Runs openssl; the error names the command line and what openssl printed. */
async function openssl(args: string[]): Promise<void> {
  try {
    await execFileP('openssl', args);
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

// P-256 keys: generated in milliseconds (RSA takes far longer on a small machine), and accepted by every component.
const genKey = (file: string): Promise<void> => openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);

export interface CertPaths {
  cert: string;
  key: string;
}

/** A certificate authority on disk, able to issue leaf certificates. */
export class CertificateAuthority {
  readonly cert: string;
  readonly key: string;

  private constructor(readonly dir: string) {
    this.cert = path.join(dir, 'ca.crt');
    this.key = path.join(dir, 'ca.key');
  }

  /** Creates a self-signed CA in `dir`. A config of our own, so the system's openssl.cnf defaults do not matter. */
  static async create(dir: string, commonName: string): Promise<CertificateAuthority> {
    const ca = new CertificateAuthority(dir);
    const config = path.join(dir, 'ca.cnf');
    writeFileSync(config, [
      '[req]', 'distinguished_name = dn', 'x509_extensions = ca', 'prompt = no', '[dn]', `CN = ${commonName}`,
      '[ca]', 'basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,cRLSign,digitalSignature',
      'subjectKeyIdentifier = hash', '',
    ].join('\n'));
    await genKey(ca.key);
    await openssl(['req', '-x509', '-new', '-config', config, '-key', ca.key, '-days', '3650', '-out', ca.cert]);
    return ca;
  }

  get pem(): string {
    return readFileSync(this.cert, 'utf8');
  }

  /**
   * Issues `<name>.crt`/`<name>.key`. Kubernetes takes a client's user name from CN and its groups from O;
   * `sans` (IP:… / DNS:…) make it a serving cert.
   */
  async issue(name: string, subject: { cn: string; orgs?: string[] }, sans: string[] = []): Promise<CertPaths> {
    const paths = { cert: path.join(this.dir, `${name}.crt`), key: path.join(this.dir, `${name}.key`) };
    const csr = path.join(this.dir, `${name}.csr`);
    const ext = path.join(this.dir, `${name}.ext`);
    const subj = [...(subject.orgs ?? []).map((o) => `/O=${o}`), `/CN=${subject.cn}`].join('');
    writeFileSync(ext, [
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature,keyEncipherment',
      `extendedKeyUsage = ${sans.length ? 'serverAuth' : 'clientAuth'}`,
      'authorityKeyIdentifier = keyid',
      ...(sans.length ? [`subjectAltName = ${sans.join(',')}`] : []),
      '',
    ].join('\n'));
    await genKey(paths.key);
    await openssl(['req', '-new', '-key', paths.key, '-subj', subj, '-out', csr]);
    await openssl(['x509', '-req', '-in', csr, '-CA', this.cert, '-CAkey', this.key, '-set_serial', `0x${randomBytes(16).toString('hex')}`,
      '-days', '365', '-extfile', ext, '-out', paths.cert]);
    return paths;
  }
}

/** The key pair that signs service-account tokens (ES256): the apiserver and controller-manager both use it. */
export async function serviceAccountKeyPair(dir: string): Promise<{ privateKey: string; publicKey: string }> {
  const privateKey = path.join(dir, 'sa.key');
  const publicKey = path.join(dir, 'sa.pub');
  await genKey(privateKey);
  await openssl(['pkey', '-in', privateKey, '-pubout', '-out', publicKey]);
  return { privateKey, publicKey };
}

/** Writes a kubeconfig with the certificates embedded, so the file works on its own wherever it is copied. */
export function writeKubeconfig(file: string, server: string, caPem: string, user: string, client: CertPaths): void {
  const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'sluice-e2e', cluster: { server, 'certificate-authority-data': b64(caPem) } }],
    users: [{ name: user, user: { 'client-certificate-data': b64(readFileSync(client.cert)), 'client-key-data': b64(readFileSync(client.key)) } }],
    contexts: [{ name: 'sluice-e2e', context: { cluster: 'sluice-e2e', user } }],
    'current-context': 'sluice-e2e',
  };
  writeFileSync(file, YAML.stringify(config), { mode: 0o600 });
}
