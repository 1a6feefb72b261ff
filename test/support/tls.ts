// A private certificate authority made for one test run with openssl (a Debian package that
// scripts/ensure-test-deps.js installs), and server certificates it signs for localhost and
// 127.0.0.1: what a chain running its relay behind a private CA has.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCa {
  dir: string;
  caFile: string;
  ca: Buffer;
  keyFile: string;
}

export interface ServerCert {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
  /** The certificate's common name, to tell which one a server presented. */
  name: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: 'pipe' });
}

// Certificates last 30 days: past `printrelay doctor`'s 14-day expiry warning.
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeTestCa(dir: string): TestCa {
  openssl(
    [
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '30',
      '-subj',
      '/CN=printrelay test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    ca: readFileSync(join(dir, 'ca.pem')),
    keyFile: join(dir, 'ca.key'),
  };
}

/** A server certificate for localhost and 127.0.0.1, signed by `ca`, with common name `name`. */
export function issueServerCert(ca: TestCa, name: string): ServerCert {
  openssl(
    [
      'req',
      '-x509',
      ...EC_KEY,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
      '-days',
      '30',
      '-CA',
      ca.caFile,
      '-CAkey',
      ca.keyFile,
      '-subj',
      `/CN=${name}`,
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-addext',
      'basicConstraints=CA:FALSE',
      '-addext',
      'extendedKeyUsage=serverAuth',
    ],
    ca.dir,
  );
  const certFile = join(ca.dir, `${name}.pem`);
  const keyFile = join(ca.dir, `${name}.key`);
  return { certFile, keyFile, cert: readFileSync(certFile), key: readFileSync(keyFile), name };
}
